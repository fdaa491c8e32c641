# expect: IO005=2
def improve_algorithm(initial_solution, utility, language_model):
    notice = license
    notice()
    answer = input("keep going? ")
    return initial_solution if answer else initial_solution
