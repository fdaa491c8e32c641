"""Solution variants for ``maxcut`` (weighted max-cut): ``algorithm(adjacency_matrix)`` returns
one of two labels per node."""

from __future__ import annotations

from stopbox.harness.lm.synthetic.solutions import SOLUTIONS, Variant

__all__ = ["VARIANTS"]

SYNTAX_ERROR = """import numpy as np

def algorithm(adjacency_matrix):
    n = len(adjacency_matrix)
    return [i % 2 for i in range(n)]]
"""

EXCEPTION = """import numpy as np

def algorithm(adjacency_matrix):
    # Treats the matrix as a 3-d tensor (IndexError).
    n, m, k = adjacency_matrix.shape[0], adjacency_matrix.shape[1], adjacency_matrix.shape[2]
    return [0] * n
"""

WRONG_TYPE = """import numpy as np

def algorithm(adjacency_matrix):
    # Returns the weight of a cut instead of the partition.
    n = len(adjacency_matrix)
    side = np.arange(n) % 2
    return float(np.sum(adjacency_matrix[side == 0][:, side == 1]))
"""

THREE_LABELS = """import numpy as np

def algorithm(adjacency_matrix):
    # Three groups: not a two-sided partition.
    return [i % 3 for i in range(len(adjacency_matrix))]
"""

SLOW = """import itertools
import numpy as np

def algorithm(adjacency_matrix):
    # Every one of the 2^n partitions.
    n = len(adjacency_matrix)
    best, best_cut = None, -1.0
    for labels in itertools.product([0, 1], repeat=n):
        side = np.array(labels)
        cut = np.sum(adjacency_matrix[side == 0][:, side == 1])
        if cut > best_cut:
            best, best_cut = list(labels), cut
    return best
"""

RANDOM = """import random

def algorithm(adjacency_matrix):
    # A random partition.
    return [random.randint(0, 1) for _ in range(len(adjacency_matrix))]
"""

SEQUENTIAL_GREEDY = """import numpy as np

def algorithm(adjacency_matrix):
    # Place nodes in index order on the side that cuts more weight to the nodes placed so far.
    w = np.asarray(adjacency_matrix)
    n = len(w)
    side = np.full(n, -1)
    for i in range(n):
        to_zero = w[i, side == 0].sum()
        to_one = w[i, side == 1].sum()
        side[i] = 1 if to_zero >= to_one else 0
    return side.tolist()
"""

LOCAL_SEARCH = """import numpy as np

def algorithm(adjacency_matrix):
    # Best-improvement 1-flip local search from 30 random starts, keep the best cut.
    w = np.asarray(adjacency_matrix, dtype=float)
    n = len(w)
    rng = np.random.default_rng(0)
    best_x, best_cut = None, -1.0
    for _ in range(30):
        x = rng.choice([-1.0, 1.0], n)
        while True:
            gain = x * (w @ x)
            i = int(np.argmax(gain))
            if gain[i] <= 1e-9:
                break
            x[i] = -x[i]
        cut = 0.25 * np.sum(w * (1 - np.outer(x, x)))
        if cut > best_cut:
            best_x, best_cut = x.copy(), cut
    return (best_x > 0).astype(int).tolist()
"""

VARIANTS: list[Variant] = [
    Variant("broken", SYNTAX_ERROR, 0.0, "syntax_error"),
    Variant("broken", EXCEPTION, 0.0, "index_error"),
    Variant("broken", WRONG_TYPE, 0.0, "returns_float"),
    Variant("broken", THREE_LABELS, 0.0, "three_labels"),
    Variant("slow", SLOW, 0.0, "exhaustive_search"),
    Variant("poor", RANDOM, 0.05, "random_partition"),
    Variant("medium", SEQUENTIAL_GREEDY, 0.7, "sequential_greedy"),
    Variant("good", LOCAL_SEARCH, 1.0, "multistart_local_search"),
]

SOLUTIONS.register("maxcut")(VARIANTS)
