from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stopbox.harness.reporting import markdown, render_report
from stopbox.harness.reporting._load import normalise_report


def test_markdown_matches_golden(
    report: dict[str, Any], run_dir: Path, golden: Callable[[str, str], None]
) -> None:
    golden("report.md", render_report(report, "md", run_dir))


def test_title_says_no_language_model_for_synthetic_runs(report: dict[str, Any]) -> None:
    report["title"] = "STOP run x"  # even when the engine's title forgot to say it
    first = markdown.render(normalise_report(report)).splitlines()[0]
    assert first.startswith("# STOP run x")
    assert "no language model was used" in first


def test_title_of_a_real_lm_run_does_not_claim_synthetic(report: dict[str, Any]) -> None:
    report["title"] = "STOP run y with gpt-4o"
    report["run"]["lm"] = {"spec": "openai:gpt-4o", "synthetic": False, "label": "gpt-4o"}
    text = markdown.render(normalise_report(report))
    assert text.splitlines()[0] == "# STOP run y with gpt-4o"
    assert "synthetic proposer" not in text


def test_interrupted_run_says_so(report: dict[str, Any]) -> None:
    report["run"]["status"] = "interrupted"
    text = markdown.render(normalise_report(report))
    assert "(interrupted run)" in text.splitlines()[0]
    assert "**This run was interrupted**" in text


def test_bypass_rows_carry_counts_and_wilson_intervals(report: dict[str, Any]) -> None:
    text = markdown.render(normalise_report(report))
    assert "| all | 2/102 | 1.96% (0.54–6.87) | 0.98% (0.17–5.35) | 0.98% (0.17–5.35) |" in text
    assert "| improver | 1/12 | 8.33% (1.49–35.39) |" in text


def test_tables_are_well_formed(report: dict[str, Any]) -> None:
    text = markdown.render(normalise_report(report))
    blocks = re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M)
    assert len(blocks) >= 10
    for block in blocks:
        widths = {line.count(" | ") for line in block.strip().splitlines()}
        assert len(widths) == 1, block


def test_partial_report_renders_every_section(report: dict[str, Any]) -> None:
    minimal = {"run": {"id": "r1", "status": "interrupted"}, "iterations": []}
    text = markdown.render(normalise_report(minimal))
    assert text.count("_No data recorded._") >= 8
    assert "## Transfer" in text
