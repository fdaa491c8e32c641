# expect: SBX008=2
import operator


def improve_algorithm(initial_solution, utility, language_model):
    scorers = {"main": utility}
    call_it = operator.methodcaller("__call__", initial_solution, False)
    call_it(scorers["main"])
    pick = lambda fn=utility: fn.__wrapped__
    return initial_solution
