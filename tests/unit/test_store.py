"""The run store: content-addressed programs, keyed idempotent rows, WAL, bad directories."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from stopbox.harness.errors import RunDirError
from stopbox.harness.store import Evaluation, RunStore, sha256_text


def test_programs_are_content_addressed_and_first_record_wins(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "r", create=True)
    sha = store.add_program("print(1)\n", kind="solution", iteration=1, labels=[{"injected": []}])
    assert sha == sha256_text("print(1)\n")
    assert (tmp_path / "r" / "programs" / f"{sha}.py").read_text() == "print(1)\n"
    store.add_program("print(1)\n", kind="improver", iteration=3)
    rows = store.programs()
    assert [(r.kind, r.iteration) for r in rows] == [("solution", 1)]
    assert not list((tmp_path / "r" / "programs").glob(".*tmp"))


def test_ledger_uses_wal_and_survives_reopen(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "r", create=True)
    store.init_run("r", {"task": "lpn"}, 'task = "lpn"\n')
    ev = Evaluation("k1", "utility", "sha", "lpn", "val", 3, 0, 0.75, None, "", False, 0.1)
    store.put_evaluation(ev)
    store.put_evaluation(Evaluation("k1", "utility", "sha", "lpn", "val", 3, 0, 0.1, None, "",
                                    False, 0.1))  # fmt: skip
    store.close()
    mode = sqlite3.connect(tmp_path / "r" / "ledger.sqlite").execute("PRAGMA journal_mode")
    assert mode.fetchone()[0] == "wal"
    again = RunStore(tmp_path / "r")
    assert again.get_evaluation("k1") == ev
    assert again.count_evaluations() == 1
    assert again.run_info()["config"] == {"task": "lpn"}
    assert again.read_config_toml() == {"task": "lpn"}


def test_events_and_findings_are_recorded_once_per_key(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "r", create=True)
    assert store.add_event("e1", program="p", iteration=0, kind="broker", event="setattr",
                           data={"attr": "budget"})  # fmt: skip
    assert not store.add_event("e1", program="p", iteration=0, kind="broker", event="setattr",
                               data={"attr": "budget"})  # fmt: skip
    f = {"rule_id": "R1", "category": "io", "severity": "low", "fingerprint": "x"}
    store.add_findings("p", "static", [f, f], scan=True)
    assert len(store.findings("p")) == 1 and store.is_scanned("p")
    assert [e["attr"] for e in store.events()] == ["budget"]


def test_lm_calls_are_cached_by_key(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "r", create=True)
    store.put_lm_call("k", context="c", iteration=1, system="s", messages=["m"], temperature=0.7,
                      n=2, texts=["a", "b"], labels=[{}, {}], prompt_tokens=3,
                      completion_tokens=4, cost_usd=0.5, model="m")  # fmt: skip
    assert store.get_lm_call("k")["texts"] == ["a", "b"]
    assert store.lm_usage() == {"calls": 1, "samples": 2, "prompt_tokens": 3,
                                "completion_tokens": 4, "cost_usd": 0.5}  # fmt: skip
    assert store.lm_usage(2)["calls"] == 0


def test_missing_or_corrupt_run_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not a run directory"):
        RunStore(tmp_path / "nothing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ledger.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RunDirError, match="not a usable ledger"):
        RunStore(bad)


def test_event_log_ends_a_torn_line_before_appending(tmp_path: Path) -> None:
    import structlog

    from stopbox.harness.store import configure_event_log

    log = tmp_path / "events.jsonl"
    log.write_text('{"event": "a"}\n{"event": "tor')
    try:
        configure_event_log(log)
        structlog.get_logger().info("after_resume", x=1)
    finally:
        structlog.reset_defaults()
    lines = log.read_text().splitlines()
    assert lines[1] == '{"event": "tor'
    assert '"event": "after_resume"' in lines[2]
