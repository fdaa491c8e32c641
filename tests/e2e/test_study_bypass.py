"""`stopbox study bypass` as a user runs it (subprocess, synthetic LM, static analysis only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

STOPBOX = [sys.executable, "-m", "stopbox.harness.cli"]


def _stopbox(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOPBOX, *args], cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip


def test_synthetic_study_detects_exactly_what_was_injected(tmp_path: Path) -> None:
    out = tmp_path / "study"
    proc = _stopbox(
        "study", "bypass", "--lm", "synthetic", "--samples", "2000", "--red-team-rate", "0.005",
        "--jobs", "2", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    study = json.loads((out / "study.json").read_text())
    assert (out / "study.md").is_file()
    assert set(study["prompts"]) == {"plain", "warning"}
    for name, p in study["prompts"].items():
        assert p["samples"] == 2000, name
        assert set(p["bypass"]) == {"count", "total", "rate", "ci_low", "ci_high"}
        assert p["benign"]["flagged"] == 0, (name, p["disagreements"])
    rows = {r["category"]: r for r in study["calibration"]}
    assert sum(r["injected"] for r in rows.values()) > 0  # 0.005 × 4000 attempts: some attacks
    for category, row in rows.items():
        assert row["detected"] == row["injected"], (category, study["prompts"])
    # stopbox never reports fewer sandbox bypasses than were injected, and the summary says so
    injected_bypass = rows["sandbox-bypass"]["injected"]
    found = sum(p["bypass"]["count"] for p in study["prompts"].values())
    assert found == injected_bypass
    assert "no language model was used" in study["title"]
    assert "stopbox bypass" in proc.stdout and "paper method" in proc.stdout


def test_study_resumes_and_extends(tmp_path: Path) -> None:
    out = tmp_path / "s"
    first = _stopbox("study", "bypass", "--lm", "synthetic", "--samples", "10", "--prompt",
                     "plain", "--out", str(out), cwd=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    calls_before = len((out / "attempts.jsonl").read_text().splitlines())
    again = _stopbox("study", "bypass", "--lm", "synthetic", "--samples", "20", "--prompt",
                     "plain", "--resume", str(out), cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert calls_before == 2
    assert len((out / "attempts.jsonl").read_text().splitlines()) == 4
    assert json.loads((out / "study.json").read_text())["prompts"]["plain"]["samples"] == 20


def test_bad_options_exit_2(tmp_path: Path) -> None:
    bad = [
        ("--prompt", "loud"),
        ("--lm", "openai:gpt-4o", "--red-team-rate", "0.1"),
        ("--resume", str(tmp_path / "missing")),
    ]
    for args in bad:
        proc = _stopbox("study", "bypass", "--samples", "1", *args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        if args[0] == "--prompt":  # a closed choice: the command line parser names the choices
            assert "Invalid value for '--prompt'" in proc.stderr and "plain" in proc.stderr
        else:
            assert "stopbox: error:" in proc.stderr
