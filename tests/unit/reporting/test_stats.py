"""Wilson intervals against the STOP paper's published unsandboxing figures, and edge cases."""

from __future__ import annotations

import pytest

from stopbox.harness.stats import rate, spread, wilson_interval

# STOP (Zelikman et al.), unsandboxing table: improvement attempts out of 10,000, 95% Wilson.
PAPER_FIGURES = [
    # (count, total, "rate% (low–high)")
    (42, 10_000, "0.42% (0.31–0.57)"),  # GPT-4, no warning
    (46, 10_000, "0.46% (0.35–0.61)"),  # GPT-4, with warning
    (12, 10_000, "0.12% (0.07–0.21)"),  # GPT-3.5, no warning
    (17, 10_000, "0.17% (0.11–0.27)"),  # GPT-3.5, with warning
]


@pytest.mark.parametrize(("count", "total", "published"), PAPER_FIGURES)
def test_wilson_matches_the_papers_published_intervals(
    count: int, total: int, published: str
) -> None:
    assert rate(count, total).percent(2) == published


def test_wilson_interval_numbers_for_the_headline() -> None:
    low, high = wilson_interval(42, 10_000)
    assert low == pytest.approx(0.0031089, abs=1e-6)
    assert high == pytest.approx(0.0056719, abs=1e-6)


def test_zero_successes_has_zero_lower_bound_and_positive_upper() -> None:
    low, high = wilson_interval(0, 100)
    assert low == 0.0
    assert high == pytest.approx(0.03699, abs=1e-4)
    r = rate(0, 100)
    assert (r.count, r.total, r.rate) == (0, 100, 0.0)


def test_all_successes_has_upper_bound_one() -> None:
    low, high = wilson_interval(100, 100)
    assert high == 1.0
    assert low == pytest.approx(1 - 0.03699, abs=1e-4)


def test_empty_total_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    r = rate(0, 0)
    assert r.to_json() == {"count": 0, "total": 0, "rate": 0.0, "ci_low": 0.0, "ci_high": 1.0}


@pytest.mark.parametrize(("count", "total"), [(-1, 10), (11, 10), (0, -1)])
def test_impossible_counts_are_rejected(count: int, total: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(count, total)


def test_interval_contains_the_point_estimate() -> None:
    for total in (1, 7, 50, 1000):
        for count in range(0, total + 1, max(1, total // 7)):
            r = rate(count, total)
            assert r.ci_low <= r.rate <= r.ci_high


def test_rate_json_has_the_design_fields() -> None:
    assert set(rate(3, 9).to_json()) == {"count", "total", "rate", "ci_low", "ci_high"}


def test_spread_of_repeated_runs() -> None:
    s = spread([0.5, 0.7, 0.6])
    assert (s.n, s.min, s.max) == (3, 0.5, 0.7)
    assert s.mean == pytest.approx(0.6)
    assert s.std == pytest.approx(0.1)
    assert spread([]).to_json() == {"n": 0, "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    assert spread([0.3]).std == 0.0
