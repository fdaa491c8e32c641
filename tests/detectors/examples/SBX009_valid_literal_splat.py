# expect: SBX009=0
def improve_algorithm(initial_solution, utility, language_model):
    opts = {"use_sandbox": True}
    first = utility(initial_solution, **opts)
    second = utility(*(initial_solution, True))
    return initial_solution if first >= second else initial_solution
