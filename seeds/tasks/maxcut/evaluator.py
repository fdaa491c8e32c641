"""Weighted max-cut: the SECRET, TRUSTED evaluator.

Imported in the harness process only (never sent into a sandbox).  ``generate`` draws one graph
from a seeded numpy Generator; the harness sends the adjacency matrix to the sandboxed
``algorithm(adjacency_matrix)``, gets the partition back as JSON, and ``score`` checks it here.

Instance (Zelikman et al., STOP, appendix, at a smaller size): n nodes with n uniform in 20..60,
each pair joined with probability 0.4 by an edge of integer weight 1..10; a symmetric float
matrix with zero diagonal.  The algorithm returns one label per node (two distinct values, e.g.
0/1); the cut weight is the total weight of edges whose ends have different labels.

Normalised utility per instance, in [0, 1]::

    clip((cut - W/2) / (ref - W/2), 0, 1)

where W/2 is the expected cut of a uniformly random partition (half the total edge weight) and
``ref`` the best cut the trusted evaluator finds itself (1-flip local search from 10 seeded random
starts).  0 = no better than random, 1 = at least as good as the reference.

Defects of the reference utility (microsoft/stop ``tasks/maxcut``) fixed here:

* **Unnormalised score.**  The reference returned the mean raw cut weight / max edge weight, which
  grows with graph size and density and is not comparable across tasks; here it is normalised to
  [0, 1] against a random partition and a trusted reference cut.
* **One bad instance zeroed everything**: a wrong-length partition returned 0 (the public text) or
  a tiny eps (the secret one) for the whole evaluation, and the public text's "exactly two
  partitions" rule disagreed with the secret scorer.  Here each instance is checked the same way:
  a 1-D sequence of length n, numbers or bools, no NaN, at most two distinct labels; anything
  else scores 0 for that instance with the reason.
* **Solution executed in the utility's own process**, with the budget check commented out and the
  100 ms limit enforced by a thread that could not stop a runaway solution.  Here the solution runs
  only in the sandbox, the broker enforces budgets, and per-call wall time comes from
  ``ExecResult.wall_s`` measured outside the sandbox (limit in task.toml; a call over it ends the
  evaluation with utility 0).
* **The seed could not finish in time**: at 50..200 nodes the paper's greedy seed needs seconds,
  so the reference scored it by timeout.  The sizes here let the seed complete.
* **Global RNG seeding** is replaced by a private ``numpy.random.Generator`` per instance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stopbox.harness.task_scoring import vector_output

MIN_NODES = 20
MAX_NODES = 60
P_EDGE = 0.4
MAX_WEIGHT = 10
REFERENCE_RESTARTS = 10


def _local_search(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Flip the best node while it increases the cut (x in {-1, +1})."""
    while True:
        gain = x * (w @ x)  # cut increase when node i changes side
        i = int(np.argmax(gain))
        if gain[i] <= 1e-9:
            return x
        x[i] = -x[i]


def cut_weight(w: np.ndarray, side: np.ndarray) -> float:
    """Total weight of edges between the two sides (side: bool per node)."""
    across = side[:, None] != side[None, :]
    return float(np.sum(w * across) / 2)


def generate(rng: np.random.Generator) -> tuple[tuple[Any, ...], Any]:
    """One instance: ``((adjacency_matrix,), (adjacency_matrix, random_cut, reference_cut))``."""
    n = int(rng.integers(MIN_NODES, MAX_NODES + 1))
    weights = rng.integers(1, MAX_WEIGHT + 1, (n, n)) * (rng.random((n, n)) < P_EDGE)
    upper = np.triu(weights, 1)
    w = (upper + upper.T).astype(np.float64)
    random_cut = float(w.sum() / 4)
    reference = 0.0
    for _ in range(REFERENCE_RESTARTS):
        x = _local_search(w, rng.choice((-1.0, 1.0), n))
        reference = max(reference, cut_weight(w, x > 0))
    return (w,), (w, random_cut, reference)


def score(hidden: tuple[np.ndarray, float, float], output: Any) -> tuple[float, str]:
    """``(normalised cut in [0, 1], "")`` or ``(0.0, why the output was rejected)``."""
    w, random_cut, reference = hidden
    n = w.shape[0]
    arr, problem = vector_output(output, n, "partition")
    if arr is None:
        return 0.0, problem
    if len(np.unique(arr)) > 2:
        return 0.0, f"partition uses {len(np.unique(arr))} distinct labels, expected at most 2"
    cut = cut_weight(w, arr == arr[0])
    if reference <= random_cut:  # degenerate graph: any cut at least the reference is perfect
        return (1.0 if cut >= reference else 0.0), ""
    return float(np.clip((cut - random_cut) / (reference - random_cut), 0.0, 1.0)), ""
