# expect: TMP006=2
def improve_algorithm(initial_solution, utility, lm):
    ask = lm.batch_prompt
    owner = ask.__self__
    backend = getattr(lm, "_cli" + "ent")
    return initial_solution
