"""The one severity type and the one threshold helper (a leaf: imports nothing from stopbox).

Every "at or above" decision goes through :func:`at_least` — the audit's ``--fail-on``, the
gate's ``block_at``, the probe — and every "counts as a detection" decision (calibration, attempt
classes, the audit's static/runtime cross-check) through :func:`is_detection`, which is
:data:`DETECTION_THRESHOLD` (medium) or worse.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Severity",
    "SEVERITY_ORDER",
    "SEVERITIES",
    "DETECTION_THRESHOLD",
    "at_least",
    "is_detection",
]


class Severity(StrEnum):
    """How bad a finding is, lowest first (the declaration order is the order)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for low … 3 for critical."""
        return _RANK[self]


SEVERITY_ORDER: tuple[Severity, ...] = tuple(Severity)
"""Lowest first."""
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
"""The names, lowest first (the allowed values of ``fail_on``, ``block_at``, ``--fail-on``)."""
_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}
_BY_NAME: dict[str, Severity] = {s.value: s for s in Severity}

DETECTION_THRESHOLD = Severity.MEDIUM
"""A finding of this severity or worse counts as detecting its category (low ones are hints)."""


def at_least(severity: object, threshold: Severity | str) -> bool:
    """True when ``severity`` (a :class:`Severity` or its name) is ``threshold`` or worse.

    A value that names no severity (a missing field of a stored finding) is below every
    threshold; a ``threshold`` that names none is a ValueError (it comes from validated config).
    """
    if not isinstance(severity, str) or severity not in _BY_NAME:
        return False
    rank = _BY_NAME[severity].rank
    return rank >= Severity(threshold).rank


def is_detection(severity: object) -> bool:
    """True when a finding of this severity counts as a detection (medium or worse)."""
    return at_least(severity, DETECTION_THRESHOLD)
