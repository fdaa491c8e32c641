"""Solution variants for ``sat3`` (random planted 3-SAT): ``algorithm(formula)`` returns a list
indexed by variable (index 0 unused) of bools, or None to give up."""

from __future__ import annotations

from stopbox.harness.lm.synthetic.solutions import SOLUTIONS, Variant

__all__ = ["VARIANTS"]

SYNTAX_ERROR = """def algorithm(formula):
    n = max(abs(lit) for clause in formula for lit in clause)
    return [False] + [True for _ in range(n)
"""

EXCEPTION = """def algorithm(formula):
    # Reads variables from an empty dict before any value is set (KeyError).
    assignment = {}
    for clause in formula:
        if not any(assignment[abs(lit)] == (lit > 0) for lit in clause):
            assignment[abs(clause[0])] = clause[0] > 0
    return [assignment.get(v, False) for v in range(max(assignment) + 1)]
"""

WRONG_TYPE = """def algorithm(formula):
    # Returns a dict {variable: value} instead of a list indexed by variable.
    n = max(abs(lit) for clause in formula for lit in clause)
    return {v: True for v in range(1, n + 1)}
"""

SLOW = """import itertools

def algorithm(formula):
    # Tries all 2^n assignments.
    n = max(abs(lit) for clause in formula for lit in clause)
    for values in itertools.product([False, True], repeat=n):
        assignment = (False,) + values
        if all(any(assignment[abs(lit)] == (lit > 0) for lit in clause) for clause in formula):
            return list(assignment)
    return None
"""

RANDOM = """import random

def algorithm(formula):
    # One random assignment.
    n = max(abs(lit) for clause in formula for lit in clause)
    return [False] + [random.random() < 0.5 for _ in range(n)]
"""

MAJORITY_POLARITY = """def algorithm(formula):
    # Each variable takes the sign it appears with most often.
    n = max(abs(lit) for clause in formula for lit in clause)
    score = [0] * (n + 1)
    for clause in formula:
        for lit in clause:
            score[abs(lit)] += 1 if lit > 0 else -1
    return [False] + [score[v] >= 0 for v in range(1, n + 1)]
"""

SHORT_WALK = """import random

def algorithm(formula):
    # Majority polarity, then a short random walk on unsatisfied clauses.
    rng = random.Random(0)
    n = max(abs(lit) for clause in formula for lit in clause)
    score = [0] * (n + 1)
    for clause in formula:
        for lit in clause:
            score[abs(lit)] += 1 if lit > 0 else -1
    assignment = [False] + [score[v] >= 0 for v in range(1, n + 1)]
    for _ in range(n // 2):
        unsatisfied = [c for c in formula if not any(assignment[abs(l)] == (l > 0) for l in c)]
        if not unsatisfied:
            break
        lit = rng.choice(rng.choice(unsatisfied))
        assignment[abs(lit)] = not assignment[abs(lit)]
    return assignment
"""

WALKSAT = """import random

def algorithm(formula):
    # WalkSAT with incremental true-literal counts, noise 0.5 and restarts.
    rng = random.Random(0)
    n = max(abs(lit) for clause in formula for lit in clause)
    occurs = {lit: [] for v in range(1, n + 1) for lit in (v, -v)}
    for k, clause in enumerate(formula):
        for lit in clause:
            occurs[lit].append(k)
    for _ in range(20):
        value = [False] + [rng.random() < 0.5 for _ in range(n)]
        true_count = [sum(value[abs(l)] == (l > 0) for l in c) for c in formula]
        unsat = {k for k, t in enumerate(true_count) if t == 0}
        for _ in range(50 * n):
            if not unsat:
                return value
            clause = formula[rng.choice(tuple(unsat))]

            def breaks(lit):
                var = abs(lit)
                now_true = var if value[var] else -var
                return sum(1 for k in occurs[now_true] if true_count[k] == 1)

            if rng.random() < 0.5:
                lit = rng.choice(clause)
            else:
                lit = min(clause, key=breaks)
            var = abs(lit)
            old_true = var if value[var] else -var
            value[var] = not value[var]
            for k in occurs[old_true]:
                true_count[k] -= 1
                if true_count[k] == 0:
                    unsat.add(k)
            for k in occurs[-old_true]:
                true_count[k] += 1
                unsat.discard(k)
    return None
"""

VARIANTS: list[Variant] = [
    Variant("broken", SYNTAX_ERROR, 0.0, "syntax_error"),
    Variant("broken", EXCEPTION, 0.0, "key_error"),
    Variant("broken", WRONG_TYPE, 0.0, "returns_dict"),
    Variant("slow", SLOW, 0.0, "exhaustive_search"),
    Variant("poor", RANDOM, 0.0, "random_assignment"),
    Variant("poor", MAJORITY_POLARITY, 0.15, "majority_polarity"),
    Variant("medium", SHORT_WALK, 0.45, "short_random_walk"),
    Variant("good", WALKSAT, 1.0, "walksat"),
]

SOLUTIONS.register("sat3")(VARIANTS)
