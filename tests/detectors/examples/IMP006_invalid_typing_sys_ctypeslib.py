# expect: IMP006=3
import statistics
import typing

import numpy as np


def improve_algorithm(initial_solution, utility, language_model):
    mods = typing.sys.modules
    statistics.sys.setrecursionlimit(10**6)
    buf = np.ctypeslib.as_ctypes(np.zeros(4))
    return initial_solution
