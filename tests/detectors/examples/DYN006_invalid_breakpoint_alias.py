# expect: DYN006=2
def improve_algorithm(initial_solution, utility, language_model):
    pause = breakpoint
    pause()
    breakpoint()
    return initial_solution
