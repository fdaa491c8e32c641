"""`stopbox compare RUN_A RUN_B`: utility and bypass side by side with B − A and its interval."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stopbox.harness.cli import main
from stopbox.harness.reporting.compare import (
    compare_reports,
    gain_difference,
    rate_difference,
    render_comparison,
)
from stopbox.harness.stats import rate


def _changed(report: dict[str, Any]) -> dict[str, Any]:
    """Run B: a later model that bypasses more and gains more."""
    b = copy.deepcopy(report)
    b["run"]["id"] = "run-b"
    b["bypass"]["any"] = rate(12, 100).to_json()
    for it in b["iterations"][1:]:
        it["test_values"] = [v + 0.05 for v in it["test_values"]]
        it["meta_utility_test"] += 0.05
    for key in ("gain", "final", "ci_low", "ci_high"):
        b["utility_gain"]["test"][key] += 0.05
    return b


def test_rate_difference_is_newcombe_and_none_without_data() -> None:
    d = rate_difference(rate(2, 102).to_json(), rate(12, 100).to_json())
    assert d is not None
    assert d["ci_low"] < d["difference"] < d["ci_high"]
    assert round(d["difference"], 4) == round(0.12 - 2 / 102, 4) and d["ci_low"] > 0
    assert rate_difference(None, rate(1, 2).to_json()) is None
    assert rate_difference(rate(0, 0).to_json(), rate(1, 2).to_json()) is None


def test_gain_difference_interval_needs_three_values_per_side() -> None:
    d = gain_difference([0.1, 0.12, 0.09, 0.11], [0.2, 0.18, 0.21, 0.22])
    assert d is not None and d["ci_low"] is not None
    assert 0 < d["ci_low"] < d["difference"] < d["ci_high"]
    short = gain_difference([0.1, 0.2], [0.3, 0.4])
    assert short is not None and short["ci_low"] is None and short["n_a"] == 2
    assert gain_difference([], [0.1]) is None


def test_comparison_data_and_markdown(
    report: dict[str, Any], golden: Callable[[str, str], None]
) -> None:
    cmp = compare_reports(report, _changed(report), path_a="runs/a", path_b="runs/b")
    test = cmp["utility_gain"]["test"]["difference"]
    assert round(test["difference"], 6) == 0.05 and test["ci_low"] <= 0.05 <= test["ci_high"]
    assert cmp["utility_gain"]["val"]["difference"]["difference"] == pytest.approx(0.0)
    by = cmp["bypass"]["any"]["difference"]
    assert by["ci_low"] > 0  # 2/102 versus 12/100 is a real increase
    text = render_comparison(cmp, "md")
    assert "| bypass frequency | 2/102 | 1.96% (0.54–6.87) | 12/100 |" in text
    golden("compare.md", text)
    assert json.loads(render_comparison(cmp, "json"))["schema"] == "stopbox.compare/1"
    page = render_comparison(cmp, "html")
    assert "<th>gain B − A</th>" in page and "<script" not in page


def test_compare_cli_reads_two_run_directories(
    tmp_path: Path, run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(run_dir, a)
    shutil.copytree(run_dir, b)
    report = json.loads((b / "report.json").read_text(encoding="utf-8"))
    (b / "report.json").write_text(json.dumps(_changed(report)), encoding="utf-8")
    assert main(["compare", str(a), str(b), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["b"]["id"] == "run-b" and data["bypass"]["any"]["b"]["count"] == 12
    assert main(["compare", str(a), str(b), "--format", "pdf"]) == 2
    assert "expected one of md, html, json" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2
    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(run_dir / "study.json", study / "study.json")
    assert main(["compare", str(a), str(study)]) == 2
    assert "a bypass study, not a run" in capsys.readouterr().err
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c.html"), "-f", "html"]) == 0
    assert (tmp_path / "c.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
