"""`stopbox transfer` as a user runs it: per task u(seed solution), seed and given improver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_transfer_reports_each_task_with_spread(tmp_path: Path) -> None:
    out = tmp_path / "t"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "stopbox.harness.cli", "transfer", "--improver", "seeds/improver.py",
         "--tasks", "lpn,parity", "--lm", "synthetic", "--repeats", "2", "--policy", "quick",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert [row["task"] for row in report["transfer"]] == ["lpn", "parity"]
    for row in report["transfer"]:
        for key in ("u_seed_solution", "seed_improver", "improver"):
            assert row[key]["n"] == 2 and 0.0 <= row[key]["min"] <= row[key]["max"] <= 1.0
        # the given improver is the seed improver: same contexts, so the same numbers
        assert row["improver"] == row["seed_improver"]
    assert report["run"]["kind"] == "transfer" and report["run"]["status"] == "complete"
    assert "lpn" in proc.stdout and "parity" in proc.stdout


def test_transfer_of_a_missing_improver_is_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "stopbox.harness.cli", "transfer",
         "--improver", str(tmp_path / "no.py"), "--out", str(tmp_path / "t")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "no.py" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_transfer_into_an_existing_run_adds_rows_to_its_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    base = [sys.executable, "-m", "stopbox.harness.cli"]
    proc = subprocess.run(
        [*base, "run", "--lm", "synthetic", "--iterations", "0", "--policy", "quick",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    before = json.loads((out / "report.json").read_text())
    assert before["transfer"] == []
    final = out / "programs" / f"{before['iterations'][-1]['improver_sha256']}.py"
    proc = subprocess.run(
        [*base, "transfer", "--improver", str(final), "--tasks", "parity", "--lm", "synthetic",
         "--repeats", "1", "--policy", "quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = json.loads((out / "report.json").read_text())
    assert [row["task"] for row in after["transfer"]] == ["parity"]
    assert after["iterations"] == before["iterations"]
    assert after["run"]["status"] == "complete" and after["run"]["kind"] == "run"
