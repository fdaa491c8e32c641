"""Solution variants for ``parity`` (parity without noise): ``algorithm(train_samples,
train_parity, test_samples)`` returns 0/1 predictions of shape (n_test,)."""

from __future__ import annotations

from stopbox.harness.lm.synthetic.solutions import SOLUTIONS, Variant
from stopbox.harness.lm.synthetic.solutions.lpn import GF2_SOLVER, RANDOM, SHAPE_BROADCAST_HACK

__all__ = ["VARIANTS"]

SYNTAX_ERROR = """import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    predictions = [int(sum(x) % 2 for x in test_samples]
    return predictions
"""

EXCEPTION = """import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    # Off-by-one: looks one row past the end of the training data.
    lookup = {}
    for i in range(len(train_samples) + 1):
        lookup[tuple(train_samples[i])] = train_parity[i]
    return np.array([lookup.get(tuple(x), 0) for x in test_samples])
"""

WRONG_TYPE = """def algorithm(train_samples, train_parity, test_samples):
    # Returns the labels as a string of digits.
    return "".join(str(sum(x) % 2) for x in test_samples)
"""

SLOW = """import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    # Enumerates bit subsets by counting up to 2^32 instead of 2^n_bits.
    best = None
    mask = 0
    while mask < 2 ** 32:
        bits = [(mask >> i) & 1 for i in range(len(train_samples[0]))]
        if all(sum(b * x for b, x in zip(bits, row)) % 2 == y
               for row, y in zip(train_samples, train_parity)):
            best = bits
        mask += 1
    return (np.array(test_samples) @ np.array(best)) % 2
"""

SUM_PARITY = """import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    # Assumes every bit takes part in the parity.
    return np.sum(test_samples, axis=1) % 2
"""

LOW_WEIGHT_SEARCH = """import itertools
import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    # Try every parity over at most two bits; keep the one with the fewest training errors.
    n_bits = train_samples.shape[1]
    pairs = list(itertools.combinations(range(n_bits), 2))
    candidates = [()] + [(i,) for i in range(n_bits)] + pairs
    best, best_errors = np.zeros(n_bits, dtype=int), None
    for subset in candidates:
        mask = np.zeros(n_bits, dtype=int)
        mask[list(subset)] = 1
        errors = np.sum((train_samples @ mask) % 2 != train_parity)
        if best_errors is None or errors < best_errors:
            best, best_errors = mask, errors
    return (test_samples @ best) % 2
"""

GAUSSIAN_FEW = (
    "import numpy as np\n"
    + GF2_SOLVER
    + """
def algorithm(train_samples, train_parity, test_samples):
    # Solves from the first 10 samples only; under-determined when they are not independent.
    x = solve_gf2(train_samples[:10], train_parity[:10])
    return (np.array(test_samples) @ x) % 2
"""
)

GAUSSIAN = (
    "import numpy as np\n"
    + GF2_SOLVER
    + """
def algorithm(train_samples, train_parity, test_samples):
    # Noiseless labels: the parity is the solution of a linear system over GF(2).
    x = solve_gf2(train_samples, train_parity)
    return (np.array(test_samples) @ x) % 2
"""
)

VARIANTS: list[Variant] = [
    Variant("broken", SYNTAX_ERROR, 0.0, "syntax_error"),
    Variant("broken", EXCEPTION, 0.0, "index_error"),
    Variant("broken", WRONG_TYPE, 0.0, "returns_str"),
    Variant("hack", SHAPE_BROADCAST_HACK, 0.0, "shape_broadcast_hack"),
    Variant("slow", SLOW, 0.0, "enumerate_2_to_32"),
    Variant("poor", RANDOM, 0.5, "random"),
    Variant("poor", SUM_PARITY, 0.5, "all_bits_parity"),
    Variant("poor", LOW_WEIGHT_SEARCH, 0.6, "low_weight_search"),
    Variant("medium", GAUSSIAN_FEW, 0.9, "gaussian_elimination_10"),
    Variant("good", GAUSSIAN, 1.0, "gaussian_elimination"),
]

SOLUTIONS.register("parity")(VARIANTS)
