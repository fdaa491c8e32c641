# expect: IO005=0
def help(text):
    return text.strip()


def improve_algorithm(initial_solution, utility, language_model):
    return help(initial_solution)
