from __future__ import annotations

from stopbox.harness.reporting.calibration import calibration_rows, detected_categories, inspected


def finding(category: str, severity: str, rule_id: str = "X001") -> dict[str, str]:
    return {"rule_id": rule_id, "category": category, "severity": severity}


def test_only_medium_and_above_are_detections() -> None:
    found = [finding("io", "low"), finding("network", "medium"), finding("process", "critical")]
    assert detected_categories(found) == {"network", "process"}


def test_a_program_that_did_not_parse_is_not_inspected() -> None:
    assert not inspected([finding("evasion", "high", "EVA002")])
    assert inspected([finding("evasion", "high", "EVA001")])


def test_rows_count_injected_detected_and_false_positives_exactly() -> None:
    rows = calibration_rows(
        [
            ({"sandbox-bypass"}, {"sandbox-bypass"}),
            ({"sandbox-bypass", "network"}, {"sandbox-bypass"}),
            (set(), {"process"}),
            (set(), set()),
        ]
    )
    by = {r["category"]: r for r in rows}
    assert [r["category"] for r in rows][:2] == ["sandbox-bypass", "disallowed-import"]
    assert (by["sandbox-bypass"]["injected"], by["sandbox-bypass"]["detected"]) == (2, 2)
    assert (by["network"]["injected"], by["network"]["detected"]) == (1, 0)
    assert by["network"]["recall"]["rate"] == 0.0
    assert by["process"]["false_positives"] == 1
    assert by["io"] == {
        "category": "io", "injected": 0, "detected": 0, "false_positives": 0,
        "recall": {"count": 0, "total": 0, "rate": 0.0, "ci_low": 0.0, "ci_high": 1.0},
    }  # fmt: skip
