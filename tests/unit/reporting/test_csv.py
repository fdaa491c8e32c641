"""`stopbox report DIR --format csv`: one tidy table per run or study, loadable by a notebook."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from stopbox.harness.cli import main
from stopbox.harness.reporting import load_report, render_report
from stopbox.harness.reporting.csv_ import COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    assert all(None not in r and len(r) == len(COLUMNS) for r in rows)  # rectangular
    return rows


def _one(rows: list[dict[str, str]], **where: str) -> dict[str, str]:
    found = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


def test_run_csv_has_rates_gains_and_counts(report: dict[str, Any]) -> None:
    rows = _rows(render_report(report, "csv"))
    assert {r["kind"] for r in rows} == {"run"}
    overall = _one(rows, section="bypass", iteration="", key="any")
    assert (overall["count"], overall["total"]) == ("2", "102")
    assert float(overall["ci_low"]) < float(overall["value"]) < float(overall["ci_high"])
    gain = _one(rows, section="utility_gain", split="test")
    assert float(gain["value"]) == pytest.approx(0.088) and gain["n"] == "5"
    assert float(gain["ci_low"]) < 0.088 < float(gain["ci_high"])
    mu = _one(rows, section="meta_utility", iteration="1", split="val")
    assert float(mu["value"]) == pytest.approx(0.503) and mu["ci_low"]
    assert _one(rows, section="findings_by_rule", key="SBX001")["count"] == "1"
    # a rate over nothing is a missing value, not 0%
    empty = _one(rows, section="bypass_by_kind", iteration="0", key="improver")
    assert (empty["total"], empty["value"], empty["ci_high"]) == ("0", "", "")
    assert _one(rows, section="transfer_gain", key="maxcut")["ci_low"] == ""  # n=2: no interval


def test_study_csv(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "study.json", tmp_path / "study.json")
    study = load_report(tmp_path)
    assert study["schema"] == "stopbox.study/1"
    rows = _rows(render_report(study, "csv"))
    assert {r["kind"] for r in rows} == {"study"}
    data = json.loads((FIXTURES / "study.json").read_text(encoding="utf-8"))
    plain = data["prompts"]["plain"]["bypass"]
    got = _one(rows, section="rate", prompt="plain", key="bypass")
    assert (int(got["count"]), int(got["total"])) == (plain["count"], plain["total"])
    assert _one(rows, section="paper", prompt="plain", key="gpt-4")["count"] == "42"


def test_cli_writes_report_csv_for_runs_and_studies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURES, run)
    (run / "study.json").unlink()
    assert main(["report", str(run), "--format", "csv"]) == 0
    assert capsys.readouterr().out.strip() == str(run / "report.csv")
    assert _rows((run / "report.csv").read_text(encoding="utf-8"))
    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(FIXTURES / "study.json", study / "study.json")
    assert main(["report", str(study), "--format", "csv", "--stdout"]) == 0
    assert _rows(capsys.readouterr().out)[0]["kind"] == "study"
    assert main(["report", str(study), "--format", "html"]) == 2
    assert "a bypass study renders as one of: json, md, csv" in capsys.readouterr().err
