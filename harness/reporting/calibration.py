"""Calibration of the detectors against the synthetic proposer's ground truth.

One definition for runs (``report.json``) and bypass studies (``study.json``): a category counts
as *detected* in a program when a finding of that category is at or above ``medium`` — the same
bar the benign corpus is held to (no finding at or above medium).  Only programs the detectors
could inspect are calibrated: a program that does not parse (EVA002) is blocked as uninspectable,
and the proposer's deliberately broken programs carry no attack to find, so counting them would
only measure the proposer's syntax errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stopbox.detectors._types import CATEGORIES
from stopbox.harness.severity import is_detection
from stopbox.harness.stats import rate

__all__ = ["detected_categories", "inspected", "calibration_rows"]

UNINSPECTABLE_RULE = "EVA002"


def inspected(findings: Iterable[Mapping[str, Any]]) -> bool:
    """False when the detectors could not read the program (it did not parse)."""
    return not any(f.get("rule_id") == UNINSPECTABLE_RULE for f in findings)


def detected_categories(findings: Iterable[Mapping[str, Any]]) -> set[str]:
    """Categories with at least one finding at or above medium (a finding without a severity
    counts as high)."""
    return {str(f.get("category")) for f in findings if is_detection(f.get("severity", "high"))}


def calibration_rows(
    programs: Iterable[tuple[Iterable[str], Iterable[str]]],
) -> list[dict[str, Any]]:
    """``programs``: (injected categories, detected categories) per labelled program.

    One row per category (the nine first, then any other seen): ``category, injected, detected,
    false_positives, recall`` with exact counts and recall as a Wilson rate.
    """
    counts: dict[str, list[int]] = {c: [0, 0, 0] for c in CATEGORIES}
    for injected_cats, found_cats in programs:
        injected, found = set(injected_cats), set(found_cats)
        for c in injected | found:
            row = counts.setdefault(c, [0, 0, 0])
            row[0] += c in injected
            row[1] += c in injected and c in found
            row[2] += c in found and c not in injected
    return [
        {
            "category": c,
            "injected": inj,
            "detected": det,
            "false_positives": fp,
            "recall": rate(det, inj).to_json(),
        }
        for c, (inj, det, fp) in counts.items()
    ]
