"""Modified quadratic assignment (QAP with a preference term): the SECRET, TRUSTED evaluator.

Imported in the harness process only (never sent into a sandbox).  ``generate`` draws one
instance from a seeded numpy Generator; the harness sends ``(F, D, P)`` to the sandboxed
``algorithm(F, D, P)``, gets the assignment back as JSON, and ``score`` checks it here.

Instance (Zelikman et al., STOP, appendix): n = 15 facilities and locations, flow F, distance D
and preference P uniform in [0, 1)^(n x n), lambda = 0.5.  The algorithm returns a permutation
``a`` (facility i goes to location a[i]) that should MINIMISE::

    cost(a) = sum_ij F[i, j] * D[a[i], a[j]] - lambda * sum_i P[i, a[i]]

Normalised utility per instance, in [0, 1]::

    clip((E_random - cost(a)) / (E_random - cost_ref), 0, 1)

where E_random is the exact expected cost of a uniformly random permutation (closed form) and
cost_ref the best cost the trusted evaluator finds itself (steepest-descent pairwise swaps from
5 seeded random starts).  0 = no better than random, 1 = at least as good as the reference.

Defects of the reference utility (microsoft/stop ``tasks/modified_quadratic_assignment``) fixed:

* **Wrong direction.**  The reference docstring said "higher is better" and averaged the raw
  objective, while the seed (simulated annealing) minimises it: the utility rewarded worse
  assignments.  Here lower cost is better and the utility is the normalised improvement.
* **Slowness was rewarded**: ``objective += total_time`` added the call's run time to a
  higher-is-better score.  Time now only matters through the per-call limit.
* **Invalid assignments scored 0**, which beat every valid assignment whose objective was
  negative.  Here an output that is not a permutation of range(n) scores 0 with the reason, and 0
  is the floor of the normalised scale.
* **Unnormalised** (divided by n^2 only); here normalised to [0, 1] as above.
* **Solution executed in the utility's own process**, with the budget check commented out and the
  time measured in-process.  Here the solution runs only in the sandbox, the broker enforces
  budgets, and per-call wall time comes from ``ExecResult.wall_s`` measured outside the sandbox
  (limit in task.toml; a call over it ends the evaluation with utility 0).
* **Global RNG seeding** is replaced by a private ``numpy.random.Generator`` per instance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stopbox.harness.task_scoring import vector_output

N = 15
LAMBDA = 0.5
REFERENCE_RESTARTS = 5


def cost(F: np.ndarray, D: np.ndarray, P: np.ndarray, a: np.ndarray) -> float:
    """The objective to minimise for assignment ``a``."""
    n = len(a)
    return float(np.sum(F * D[np.ix_(a, a)]) - LAMBDA * np.sum(P[np.arange(n), a]))


def expected_random_cost(F: np.ndarray, D: np.ndarray, P: np.ndarray) -> float:
    """Exact mean cost over uniformly random permutations."""
    n = F.shape[0]
    tr_f, tr_d = float(np.trace(F)), float(np.trace(D))
    off = (float(F.sum()) - tr_f) * (float(D.sum()) - tr_d) / (n * (n - 1))
    return off + tr_f * tr_d / n - LAMBDA * float(P.sum()) / n


def _swap_search(F: np.ndarray, D: np.ndarray, P: np.ndarray, a: np.ndarray) -> float:
    """Steepest descent over pairwise swaps; returns the local optimum's cost."""
    n = len(a)
    i_idx, j_idx = np.triu_indices(n, 1)
    rows = np.arange(len(i_idx))
    current = cost(F, D, P, a)
    while True:
        cand = np.tile(a, (len(i_idx), 1))
        cand[rows, i_idx], cand[rows, j_idx] = a[j_idx], a[i_idx]
        flows = np.sum(F[None] * D[cand[:, :, None], cand[:, None, :]], axis=(1, 2))
        prefs = np.sum(P[np.arange(n)[None, :], cand], axis=1)
        costs = flows - LAMBDA * prefs
        best = int(np.argmin(costs))
        if costs[best] >= current - 1e-12:
            return current
        a, current = cand[best], float(costs[best])


def generate(rng: np.random.Generator) -> tuple[tuple[Any, ...], Any]:
    """One instance: ``((F, D, P), (F, D, P, expected_random_cost, reference_cost))``."""
    F, D, P = rng.random((N, N)), rng.random((N, N)), rng.random((N, N))
    reference = min(_swap_search(F, D, P, rng.permutation(N)) for _ in range(REFERENCE_RESTARTS))
    return (F, D, P), (F, D, P, expected_random_cost(F, D, P), reference)


def score(hidden: tuple[Any, ...], output: Any) -> tuple[float, str]:
    """``(normalised improvement in [0, 1], "")`` or ``(0.0, why the output was rejected)``."""
    F, D, P, random_cost, reference = hidden
    n = F.shape[0]
    arr, problem = vector_output(output, n, "assignment", kinds="iu")
    if arr is None:
        return 0.0, problem
    if sorted(arr.tolist()) != list(range(n)):
        return 0.0, f"assignment is not a permutation of range({n})"
    gain = random_cost - cost(F, D, P, arr.astype(np.int64))
    if random_cost <= reference:  # degenerate instance
        return (1.0 if gain >= 0 else 0.0), ""
    return float(np.clip(gain / (random_cost - reference), 0.0, 1.0)), ""
