"""Learning parity with noise (LPN), the meta task: the SECRET, TRUSTED evaluator.

Imported in the harness process only (never sent into a sandbox).  ``generate`` draws one
instance from a seeded numpy Generator; the harness sends the inputs to the sandboxed
``algorithm(train_samples, train_parity, test_samples)``, gets its output back as JSON, and
``score`` checks and scores it here.

Instance (Zelikman et al., STOP, appendix): 10 bits, each bit in the secret parity with
probability 0.3, 100 training samples whose labels are flipped with probability 0.05, 20 noiseless
test samples.  Utility = fraction of test labels predicted correctly, in [0, 1].

Defects of the reference utility (microsoft/stop ``tasks/parity_noise``) fixed here:

* **Shape-broadcast reward hack.**  The reference compared ``predictions == test_parity`` after a
  lenient reshape (the noiseless variant without any), so predictions of shape ``(n, 1)``
  broadcast to an ``(n, n)`` comparison and "accuracy" could exceed 1.  Here the output must have
  shape exactly ``(n_test,)``, a numeric or bool dtype, no NaN and values in {0, 1}; anything else
  scores 0 for that instance with the reason.
* **Solution executed in the utility's own process.**  The reference ``exec``'d the solution into
  the utility's globals, where it could redefine ``np`` or the scorer.  Here the solution runs only
  in the sandbox; only its JSON-decoded return value reaches this module.
* **Time check trusting the solution's clock.**  Per-call wall time comes from
  ``ExecResult.wall_s`` measured on the trusted side of the pipe (2 s per call); a call over the
  limit ends the evaluation with utility 0, as the reference intended.
* **Budget check inside the utility.**  ``utility.uses`` was a writable attribute; budgets are
  enforced by the trusted broker instead.
* **Global RNG seeding** (``np.random.seed`` shared with the solution) is replaced by a private
  ``numpy.random.Generator`` per instance, seeded from the secret split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stopbox.harness.task_scoring import vector_output

N_BITS = 10
P_TRUE = 0.3
N_TRAIN = 100
N_TEST = 20
NOISE = 0.05


def generate(rng: np.random.Generator) -> tuple[tuple[Any, ...], Any]:
    """One instance: ``(args for algorithm, hidden test labels)``."""
    true_bits = rng.binomial(1, P_TRUE, N_BITS)
    samples = rng.binomial(1, 0.5, (N_TRAIN + N_TEST, N_BITS))
    parity = (samples @ true_bits) % 2
    noise = rng.binomial(1, NOISE, N_TRAIN)
    train_samples = samples[:N_TRAIN]
    train_parity = (parity[:N_TRAIN] + noise) % 2
    test_samples = samples[N_TRAIN:]
    test_parity = parity[N_TRAIN:]
    return (train_samples, train_parity, test_samples), test_parity


def score(test_parity: np.ndarray, output: Any) -> tuple[float, str]:
    """``(fraction correct in [0, 1], "")`` or ``(0.0, why the output was rejected)``."""
    predictions, problem = vector_output(output, len(test_parity), "predictions")
    if predictions is None:
        return 0.0, problem
    if not bool(np.isin(predictions, (0, 1)).all()):
        return 0.0, "predictions contain values other than 0 and 1"
    return float(np.mean(predictions == test_parity)), ""
