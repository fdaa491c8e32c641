"""`stopbox report DIR [--format ...]` as a user runs it: finished, interrupted, errors."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "reporting" / "fixtures"
STOPBOX = [sys.executable, "-m", "stopbox.harness.cli"]


def _stopbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STOPBOX, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(FIXTURES, target)
    return target


def test_report_writes_each_format_into_the_run_directory(run_dir: Path) -> None:
    for fmt, name in (("md", "report.md"), ("html", "report.html"), ("sarif", "report.sarif")):
        proc = _stopbox("report", str(run_dir), "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(run_dir / name)
        assert (run_dir / name).stat().st_size > 0
    assert json.loads((run_dir / "report.sarif").read_text())["version"] == "2.1.0"
    before = (run_dir / "report.json").read_text()
    proc = _stopbox("report", str(run_dir), "--format", "json")
    assert proc.returncode == 0 and proc.stdout.strip() == str(run_dir / "report.json")
    assert (run_dir / "report.json").read_text() == before  # never rewritten


def test_report_to_stdout_and_to_a_file(run_dir: Path, tmp_path: Path) -> None:
    proc = _stopbox("report", str(run_dir), "--format", "md", "--stdout")
    assert proc.returncode == 0
    assert proc.stdout.startswith("# STOP run 20261124-fixture")
    out = tmp_path / "elsewhere" / "r.html"
    proc = _stopbox("report", str(run_dir), "--format", "html", "--out", str(out))
    assert proc.returncode == 0 and out.read_text().startswith("<!DOCTYPE html>")


def test_report_errors_exit_2(tmp_path: Path) -> None:
    for args in (
        (str(tmp_path / "missing"),),
        (str(tmp_path),),  # empty directory: not a run
        (str(FIXTURES), "--format", "pdf"),
    ):
        proc = _stopbox("report", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("stopbox: error:") and "Traceback" not in proc.stderr


def test_interrupted_engine_run_is_reported_as_interrupted(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _stopbox("run", "--lm", "synthetic", "--policy", "quick", "--iterations", "1",
                    "--backend", "seccomp", "--out", str(run))  # fmt: skip
    if proc.returncode != 0 and "unavailable" in proc.stderr:
        pytest.skip(f"seccomp backend unavailable: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    # as if the process had died before the end: no report.json, the ledger says running
    (run / "report.json").unlink()
    with sqlite3.connect(run / "ledger.sqlite") as db:
        db.execute("UPDATE runs SET status = 'running'")
    proc = _stopbox("report", str(run), "--format", "md", "--stdout")
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert "(interrupted run)" in first and "no language model was used" in first
    assert "**This run was interrupted**" in proc.stdout
    assert "| 0 |" in proc.stdout  # the seed iteration recorded before the interruption
    proc = _stopbox("report", str(run), "--format", "html")
    assert proc.returncode == 0 and "interrupted" in (run / "report.html").read_text()
