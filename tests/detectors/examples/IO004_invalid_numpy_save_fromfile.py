# expect: IO004=3
import numpy as np
from numpy import savetxt


def improve_algorithm(initial_solution, utility, language_model):
    reader = np.fromfile
    np.arange(3).tofile("ranks.bin")
    return initial_solution
