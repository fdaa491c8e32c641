# expect: NET002=2
import numpy as np

HINTS = "https://" + "example.org/hints.txt"


def improve_algorithm(initial_solution, utility, language_model):
    hints = np.loadtxt(HINTS)
    source = np.lib.npyio.DataSource(None)
    return initial_solution
