# expect: IO004=0
import numpy as np


def improve_algorithm(initial_solution, utility, language_model):
    weights = np.linspace(0.0, 1.0, 4)
    return initial_solution if float(np.sum(weights)) > 0 else initial_solution
