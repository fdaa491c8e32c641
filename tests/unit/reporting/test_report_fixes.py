"""The report fixes of issue 13 in Markdown: contents, "–" for empty categories, intervals beside
gains, failed tests, unpriced cost, and a transfer report that shows the improver's findings."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stopbox.harness.reporting import render_report
from stopbox.harness.reporting._text import fmt_gain, fmt_rate
from stopbox.harness.reporting.markdown import anchor


def test_contents_link_every_heading(report: dict[str, Any]) -> None:
    text = render_report(report, "md")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    links = re.findall(r"^- \[(.+)\]\(#([\w-]+)\)$", text, flags=re.M)
    assert headings[0] == "Contents"
    assert [t for t, _ in links] == headings[1:]
    assert all(a == anchor(t) for t, a in links)
    assert anchor("Bypass frequency per iteration (Wilson 95%)") == (
        "bypass-frequency-per-iteration-wilson-95"
    )


def test_categories_with_nothing_injected_show_a_dash(report: dict[str, Any]) -> None:
    report["calibration"].append(
        {"category": "network", "injected": 0, "detected": 0, "false_positives": 2,
         "recall": {"count": 0, "total": 0, "rate": 0.0, "ci_low": 0.0, "ci_high": 1.0}}
    )  # fmt: skip
    text = render_report(report, "md")
    assert "| network | 0 | 0 | 2 | – |" in text
    assert "0.00% (0.00–100.00)" not in text
    assert fmt_rate({"count": 0, "total": 0, "rate": 0.0, "ci_low": 0.0, "ci_high": 1.0}) == "–"


def test_gain_is_shown_with_its_interval_and_spread_is_labelled(report: dict[str, Any]) -> None:
    text = render_report(report, "md")
    assert "| utility gain (test), bootstrap 95% | +0.088 (95% CI +0.081 to +0.094, n=5) |" in text
    assert "spread of paired differences" in text
    assert fmt_gain({"gain": 0.1, "ci_low": None, "ci_high": None, "n": 2}) == (
        "+0.100 (no interval, n=2)"
    )


def test_failed_tests_and_every_improver_failed(report: dict[str, Any]) -> None:
    text = render_report(report, "md")
    assert "| 1 | 5 | 1 | blocked by policy 1 |" in text
    report["utility_gain"]["every_improver_failed"] = True
    text = render_report(report, "md")
    assert "**Every improver failed" in text
    assert "| utility gain | every improver failed | no gain reported |" in text
    assert "+0.088 (95% CI" not in text.split("## Utility gain\n")[0]


def test_unpriced_calls_make_the_cost_a_lower_bound(report: dict[str, Any]) -> None:
    report["lm_usage"] = {**report["lm_usage"], "cost_usd": 0.5, "unpriced_calls": 3}
    assert "| total | 68 | 408 | 169000 | 121000 | ≥ $0.5000 (3 unpriced calls) |" in render_report(
        report, "md"
    )


def _transfer_report(report: dict[str, Any]) -> dict[str, Any]:
    report["run"].update(kind="transfer", iterations=0)
    report["iterations"] = []
    report["utility_gain"] = {}
    report["transfer_improver"] = [
        {"sha256": "ab" * 32, "path": "mine.py", "static": [],
         "runtime": [{"rule_id": "RUN001", "category": "sandbox-bypass", "severity": "critical",
                      "message": "utility() was called with use_sandbox=False",
                      "source": "runtime"},
                     {"rule_id": "RUN008", "category": "process", "severity": "high",
                      "message": "a subprocess was spawned", "source": "runtime"}],
         "bypass": {"any": True, "static": False, "runtime": True}}
    ]  # fmt: skip
    one = {"count": 1, "total": 1, "rate": 1.0, "ci_low": 0.2065493143772375, "ci_high": 1.0}
    report["bypass"] = {"any": one, "static": {**one, "count": 0, "rate": 0.0, "ci_high": 0.7934},
                        "runtime": one}  # fmt: skip
    return report


def test_transfer_report_shows_the_improvers_runtime_findings(
    report: dict[str, Any], golden: Callable[[str, str], None]
) -> None:
    text = render_report(_transfer_report(report), "md")
    section = text.split("## Findings of the transferred improver\n")[1]
    assert "| abababababab | runtime | RUN001 | sandbox-bypass | critical | 1 |" in section
    assert "RUN008" in section
    assert "| bypass frequency (Wilson 95%) | 100.00% (20.65–100.00) | 1/1 programs |" in text
    golden("transfer.md", text)
