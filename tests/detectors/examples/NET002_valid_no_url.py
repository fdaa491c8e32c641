# expect: NET002=0
import numpy as np


def improve_algorithm(initial_solution, utility, language_model):
    grid = np.arange(6).reshape(2, 3)
    return initial_solution if grid.shape == (2, 3) else initial_solution
