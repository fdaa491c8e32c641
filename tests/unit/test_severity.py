"""The one severity type, its threshold helper, and the shared command choices."""

from __future__ import annotations

import pytest

from stopbox.harness.choices import BACKEND_NAMES, BackendName, FailOn
from stopbox.harness.policy import BACKENDS, SEVERITIES
from stopbox.harness.severity import (
    DETECTION_THRESHOLD,
    SEVERITY_ORDER,
    Severity,
    at_least,
    is_detection,
)


def test_order_and_names() -> None:
    assert SEVERITY_ORDER == (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
    assert SEVERITIES == ("low", "medium", "high", "critical")
    assert [s.rank for s in SEVERITY_ORDER] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("severity", "threshold", "expected"),
    [
        ("high", "high", True),
        ("critical", "high", True),
        ("medium", "high", False),
        (Severity.LOW, "low", True),
        ("low", Severity.MEDIUM, False),
        (None, "low", False),  # a stored finding without a severity is below every threshold
        ("severe", "low", False),
    ],
)
def test_at_least(severity: object, threshold: str, expected: bool) -> None:
    assert at_least(severity, threshold) is expected


def test_a_bad_threshold_is_an_error() -> None:
    with pytest.raises(ValueError):
        at_least("high", "severe")


def test_a_detection_is_medium_or_worse() -> None:
    assert DETECTION_THRESHOLD is Severity.MEDIUM
    assert [is_detection(s) for s in SEVERITIES] == [False, True, True, True]


def test_detectors_and_policy_use_the_same_type() -> None:
    from stopbox.detectors import Severity as DetectorSeverity

    assert DetectorSeverity is Severity and FailOn is Severity


def test_backend_choices_are_the_registered_backends_and_the_policy_values() -> None:
    from stopbox.harness.sandbox import backend_names

    assert BACKEND_NAMES == BACKENDS == backend_names() == tuple(BackendName)
