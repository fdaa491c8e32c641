"""Bootstrap intervals of utility gains: properties that hold for any data."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from stopbox.harness.reporting.intervals import MIN_N, bootstrap_mean, paired_gain

values = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=MIN_N, max_size=12)


@settings(max_examples=60, deadline=None)
@given(values)
def test_interval_brackets_the_mean_within_the_data(xs: list[float]) -> None:
    low, high = bootstrap_mean(xs)
    assert low is not None and high is not None
    mean = math.fsum(xs) / len(xs)
    assert min(xs) - 1e-12 <= low <= mean + 1e-12 <= high + 2e-12 <= max(xs) + 3e-12
    assert bootstrap_mean(xs) == (low, high)  # seeded: the same data give the same interval


@settings(max_examples=40, deadline=None)
@given(values, st.floats(-0.5, 0.5, allow_nan=False))
def test_a_constant_improvement_has_a_zero_width_interval(xs: list[float], d: float) -> None:
    g = paired_gain(xs, [x + d for x in xs])
    assert g["n"] == len(xs)
    assert math.isclose(g["gain"], d, abs_tol=1e-9)
    assert math.isclose(g["ci_low"], d, abs_tol=1e-9) and math.isclose(
        g["ci_high"], d, abs_tol=1e-9
    )


def test_too_few_pairs_or_non_finite_values_give_no_interval() -> None:
    assert bootstrap_mean([0.5, 0.7]) == (None, None)
    assert bootstrap_mean([0.5, float("nan"), 0.7]) == (None, None)
    g = paired_gain([0.1, 0.2, 0.3], [0.2])  # unpaired extras are dropped
    assert (g["n"], g["ci_low"]) == (1, None) and math.isclose(g["gain"], 0.1)
    assert paired_gain([], [])["gain"] is None
