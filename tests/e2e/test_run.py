"""`stopbox run` as a user runs it: files and report fields, determinism, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOPBOX = [sys.executable, "-m", "stopbox.harness.cli"]
RUN_ARGS = ["run", "--lm", "synthetic", "--iterations", "2", "--policy", "quick", "--seed", "3"]
RATE_KEYS = {"count", "total", "rate", "ci_low", "ci_high"}
CATEGORIES = {
    "sandbox-bypass", "disallowed-import", "dynamic-code", "introspection-escape", "tampering",
    "io", "network", "process", "evasion",
}  # fmt: skip


def stopbox(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run([*STOPBOX, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


def numbers(report: dict[str, Any]) -> list[Any]:
    """What must not change between runs with the same seed."""
    return [
        (it["iteration"], it["improver_sha256"], it["meta_utility_val"], it["meta_utility_test"],
         it["programs"], it["bypass"]["any"])
        for it in report["iterations"]
    ] + [report["utility_gain"], report["findings_by_rule"]]  # fmt: skip


def evaluation_keys(run_dir: Path) -> set[str]:
    db = sqlite3.connect(run_dir / "ledger.sqlite")
    try:
        return {k for (k,) in db.execute("SELECT key FROM evaluations")}
    except sqlite3.OperationalError:  # the run has not created its tables yet
        return set()
    finally:
        db.close()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("run") / "a"
    proc = stopbox(*RUN_ARGS, "--jobs", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads((out / "report.json").read_text())


def test_run_writes_the_run_directory_and_report(first_run: tuple[Path, dict[str, Any]]) -> None:
    out, report = first_run
    for name in ("ledger.sqlite", "events.jsonl", "config.toml", "report.json", "programs"):
        assert (out / name).exists(), name
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert {"run_start", "iteration_done", "run_complete"} <= {e["event"] for e in events}
    assert report["schema"] == "stopbox.run/1"
    assert report["run"]["status"] == "complete" and report["run"]["lm"]["synthetic"] is True
    assert "no language model" in report["title"]
    assert [it["iteration"] for it in report["iterations"]] == [0, 1, 2]
    for it in report["iterations"]:
        assert 0.0 <= it["meta_utility_val"] <= 1.0 and 0.0 <= it["meta_utility_test"] <= 1.0
        assert set(it["bypass"]["any"]) == RATE_KEYS
        assert set(it["bypass"]["by_category"]) == CATEGORIES
        assert set(it["lm"]) == {"calls", "samples", "prompt_tokens", "completion_tokens",
                                 "cost_usd"}  # fmt: skip
    assert report["iterations"][1]["lm"]["calls"] > 0
    assert report["iterations"][1]["programs"]["total"] > 0
    gain = report["utility_gain"]
    assert gain["test"]["gain"] == pytest.approx(gain["test"]["final"] - gain["test"]["seed"])
    assert gain["spread"]["test"]["n"] == 2  # quick policy: 2 meta-utility tests
    assert set(report["bypass"]["cross_check"]) == {"flagged_not_attempted",
                                                    "attempted_not_flagged", "both"}  # fmt: skip
    assert {row["category"] for row in report["calibration"]} == CATEGORIES
    for program in report["programs"]:
        assert (out / program["path"]).is_file()
    assert report["bypass"]["any"]["total"] == sum(
        it["programs"]["total"] for it in report["iterations"]
    )


def test_same_seed_gives_the_same_numbers_with_other_jobs(
    first_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    _, report = first_run
    proc = stopbox(*RUN_ARGS, "--jobs", "1", "--out", str(tmp_path / "b"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.loads((tmp_path / "b" / "report.json").read_text())
    assert numbers(again) == numbers(report)


def test_resume_after_sigkill_redoes_nothing_and_completes(
    first_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    first_dir, report = first_run
    target = len(evaluation_keys(first_dir)) // 2
    out = tmp_path / "killed"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.Popen([*STOPBOX, *RUN_ARGS, "--jobs", "2", "--out", str(out)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "ledger.sqlite").exists() and len(evaluation_keys(out)) >= target:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and every sandbox worker it started
        proc.wait(timeout=30)
    before = evaluation_keys(out)
    assert 0 < len(before)
    assert not (out / "report.json").exists()
    resumed = stopbox("run", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    lines = []
    for text in (out / "events.jsonl").read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:  # the line SIGKILL cut short
            assert not any(e.get("resumed") for e in lines), "torn line after the resume"
    start = max(i for i, e in enumerate(lines) if e["event"] == "run_start" and e["resumed"])
    redone = {e["key"] for e in lines[start:] if e["event"] == "evaluation"} & before
    assert redone == set()
    assert before <= evaluation_keys(out)  # nothing lost
    final = json.loads((out / "report.json").read_text())
    assert final["run"]["status"] == "complete"
    assert numbers(final) == numbers(report)


def test_bad_input_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        (["run", "--task", "no_such_task", "--out", str(tmp_path / "x")], "no_such_task"),
        (["run", "--resume", str(tmp_path / "missing")], "missing"),
        (["run", "--lm", "openai:gpt-4o-mini", "--out", str(tmp_path / "y")], "OPENAI_API_KEY"),
        (["run", "--lm", "replay:" + str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "z")],
         "none.jsonl"),
    ]  # fmt: skip
    for args, needle in cases:
        proc = stopbox(*args, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and needle in lines[0], (args, proc.stderr)
