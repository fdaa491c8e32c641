# expect: DYN006=0
def improve_algorithm(initial_solution, utility, language_model):
    checkpoints = [initial_solution]
    return max(checkpoints, key=utility)
