# expect: IMP005=3
import collections
import random
from dataclasses import _thread


def improve_algorithm(initial_solution, utility, language_model):
    random._os.system("id")
    loaded = collections._sys.modules
    return initial_solution
