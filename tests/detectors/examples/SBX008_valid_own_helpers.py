# expect: SBX008=0
def score_all(fn, candidates):
    return [fn(c, use_sandbox=True) for c in candidates]


def improve_algorithm(initial_solution, utility, language_model):
    budget = min(utility.budget, 4)
    pool = [initial_solution] * budget
    scores = score_all(utility, pool)
    ranked = sorted(pool, key=utility)
    mapped = list(map(utility, pool))
    return ranked[0] if scores and mapped else initial_solution
