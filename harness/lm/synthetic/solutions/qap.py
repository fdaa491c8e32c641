"""Solution variants for ``qap`` (modified quadratic assignment): ``algorithm(F, D, P)`` returns
a permutation of range(n) minimising sum F[i,j] D[a[i],a[j]] - 0.5 sum P[i,a[i]]."""

from __future__ import annotations

from stopbox.harness.lm.synthetic.solutions import SOLUTIONS, Variant

__all__ = ["VARIANTS"]

SYNTAX_ERROR = """import numpy as np

def algorithm(F, D, P):
    n = len(F)
    return list(range(n)
"""

EXCEPTION = """import numpy as np

def algorithm(F, D, P):
    # Inverts the flow matrix, which is not what the problem needs (and may be singular).
    order = np.argsort(np.linalg.inv(F @ D).sum(axis=1))
    return order.tolist()[len(F)]
"""

WRONG_TYPE = """import numpy as np

def algorithm(F, D, P):
    # Returns the cost of the identity assignment instead of an assignment.
    n = len(F)
    return float(np.sum(F * D) - 0.5 * np.trace(P))
"""

NOT_A_PERMUTATION = """import numpy as np

def algorithm(F, D, P):
    # Each facility takes its favourite location: locations repeat.
    return np.argmax(P, axis=1).tolist()
"""

SLOW = """import itertools
import numpy as np

def algorithm(F, D, P):
    # Every one of the n! permutations.
    n = len(F)
    best, best_cost = None, None
    for perm in itertools.permutations(range(n)):
        a = list(perm)
        cost = np.sum(F * D[np.ix_(a, a)]) - 0.5 * np.sum(P[np.arange(n), a])
        if best_cost is None or cost < best_cost:
            best, best_cost = a, cost
    return best
"""

IDENTITY = """def algorithm(F, D, P):
    # Facility i at location i.
    return list(range(len(F)))
"""

RANDOM = """import random

def algorithm(F, D, P):
    # A random permutation.
    a = list(range(len(F)))
    random.shuffle(a)
    return a
"""

ONE_SWEEP = """import numpy as np

def algorithm(F, D, P):
    # One sweep of first-improvement pairwise swaps from the identity.
    n = len(F)

    def cost(a):
        return np.sum(F * D[np.ix_(a, a)]) - 0.5 * np.sum(P[np.arange(n), a])

    a = np.arange(n)
    current = cost(a)
    for i in range(n):
        for j in range(i + 1, n):
            a[i], a[j] = a[j], a[i]
            new = cost(a)
            if new < current:
                current = new
            else:
                a[i], a[j] = a[j], a[i]
    return a.tolist()
"""

SWAP_SEARCH = """import numpy as np

def algorithm(F, D, P):
    # Steepest-descent pairwise swaps from 8 random starts, all swaps scored at once.
    n = len(F)
    rng = np.random.default_rng(0)
    i_idx, j_idx = np.triu_indices(n, 1)
    rows = np.arange(len(i_idx))

    def costs_of(perms):
        flows = np.sum(F[None] * D[perms[:, :, None], perms[:, None, :]], axis=(1, 2))
        return flows - 0.5 * np.sum(P[np.arange(n)[None, :], perms], axis=1)

    best, best_cost = None, None
    for _ in range(8):
        a = rng.permutation(n)
        cost = costs_of(a[None])[0]
        while True:
            cand = np.tile(a, (len(i_idx), 1))
            cand[rows, i_idx], cand[rows, j_idx] = a[j_idx], a[i_idx]
            costs = costs_of(cand)
            k = int(np.argmin(costs))
            if costs[k] >= cost - 1e-12:
                break
            a, cost = cand[k], costs[k]
        if best_cost is None or cost < best_cost:
            best, best_cost = a.copy(), cost
    return best.tolist()
"""

VARIANTS: list[Variant] = [
    Variant("broken", SYNTAX_ERROR, 0.0, "syntax_error"),
    Variant("broken", EXCEPTION, 0.0, "index_error"),
    Variant("broken", WRONG_TYPE, 0.0, "returns_float"),
    Variant("broken", NOT_A_PERMUTATION, 0.0, "not_a_permutation"),
    Variant("slow", SLOW, 0.0, "exhaustive_search"),
    Variant("poor", IDENTITY, 0.1, "identity"),
    Variant("poor", RANDOM, 0.05, "random_permutation"),
    Variant("medium", ONE_SWEEP, 0.8, "one_swap_sweep"),
    Variant("good", SWAP_SEARCH, 1.0, "multistart_swap_search"),
]

SOLUTIONS.register("qap")(VARIANTS)
