"""Bootstrap 95% intervals for utility gains (DESIGN.md §8), beside the Wilson intervals of rates.

A gain is the mean of paired differences (improved − seed) over the meta-utility's test instances
(the same evaluation seeds for both improvers) or over a transfer's repeats.  The interval is the
percentile bootstrap of that mean: ``RESAMPLES`` resamples with replacement drawn from a generator
seeded with ``SEED``, so a report is reproducible byte for byte.  With fewer than ``MIN_N``
paired values there is no interval (``ci_low``/``ci_high`` are None) — never a made-up one (the
bootstrap of two values is only their range).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["RESAMPLES", "SEED", "METHOD", "MIN_N", "bootstrap_mean", "paired_gain"]

RESAMPLES = 2000
SEED = 0
METHOD = f"percentile bootstrap, {RESAMPLES} resamples, 95%"
MIN_N = 3


def bootstrap_mean(values: Sequence[float]) -> tuple[float | None, float | None]:
    """The percentile-bootstrap 95% interval of the mean of ``values`` (None, None when n < 3)."""
    xs = np.asarray([float(v) for v in values], dtype=float)
    if xs.size < MIN_N or not np.all(np.isfinite(xs)):
        return None, None
    rng = np.random.default_rng(SEED)
    idx = rng.integers(0, xs.size, size=(RESAMPLES, xs.size))
    means = xs[idx].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def paired_gain(
    seed: Iterable[float], final: Iterable[float], *, over: str = "test instances"
) -> dict[str, Any]:
    """``{"gain", "ci_low", "ci_high", "n", "over", "method"}`` of ``final − seed``, paired.

    ``gain`` is the mean of the paired differences; values beyond the shorter list are dropped
    (they have no partner), and ``n`` says how many pairs there were.
    """
    diffs = [float(b) - float(a) for a, b in zip(seed, final, strict=False)]
    low, high = bootstrap_mean(diffs)
    return {
        "gain": math.fsum(diffs) / len(diffs) if diffs else None,
        "ci_low": low,
        "ci_high": high,
        "n": len(diffs),
        "over": over,
        "method": METHOD,
    }
