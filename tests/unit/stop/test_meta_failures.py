"""The paper's meta-utility: a failed improver run scores 0 on its test, never the fallback."""

from __future__ import annotations

from pathlib import Path

from stopbox.harness.stop.improver import failure_kind
from stopbox.harness.stop.loop import run_loop
from stopbox.harness.stop.meta import FAILED_SCORE, meta_utility

from ._fakes import FakeTask, improver
from .test_engine import make_engine


def test_blocked_improver_scores_zero_not_the_initial_solution(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r")
    task = FakeTask()
    seed_utility = engine.task_utility(task, task.seed_algorithm, split="val", seed=0, iteration=0)
    assert seed_utility > 0  # the fallback would have been credited with this
    scores = meta_utility(engine, improver("best_of_n", extra="BAD"), [task], ("val", "test"), 3,
                          iteration=1, purpose="eval")  # fmt: skip
    assert scores["val"].values == (FAILED_SCORE,) * 3 and scores["val"].mean == 0.0
    assert scores["test"].values == (0.0,) * 3
    assert scores["val"].all_failed
    assert [f["kind"] for f in scores["val"].failed] == ["blocked"] * 3
    assert all("SB001" in str(f["reason"]) for f in scores["val"].failed)


def test_raising_improver_scores_zero_with_reason(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r")
    scores = meta_utility(engine, improver("crash"), [FakeTask()], ("val",), 2, iteration=1,
                          purpose="eval")  # fmt: skip
    assert scores["val"].values == (0.0, 0.0)
    assert {f["kind"] for f in scores["val"].failed} == {"raised"}
    assert "RuntimeError: boom" in str(scores["val"].failed[0]["reason"])


def test_working_improver_is_scored_on_its_output(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r")
    scores = meta_utility(engine, improver("best_of_n"), [FakeTask()], ("val",), 2, iteration=1,
                          purpose="eval")  # fmt: skip
    assert scores["val"].failed == [] and not scores["val"].all_failed
    assert scores["val"].mean > 0.3


def test_failure_kinds_from_recorded_reasons() -> None:
    assert failure_kind("ok") == "ok"
    assert failure_kind("blocked by policy: EVA002") == "blocked"
    assert failure_kind("improver failed: timeout (wall time 120 s)") == "timed_out"
    assert failure_kind("improver failed: killed (worker stopped answering)") == "timed_out"
    assert failure_kind("improver failed: error (ValueError: x)") == "raised"
    assert failure_kind("improver failed to load: error (SyntaxError)") == "failed_to_load"
    assert failure_kind("improver returned NoneType, not program text") == "no_program"


def test_run_where_every_improver_failed_records_it_per_iteration(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r")
    out = run_loop(engine, [FakeTask()], iterations=1, n_tests=2,
                   seed_improver=improver("crash"), meta_description="meta")  # fmt: skip
    assert all(r.all_failed for r in out)
    rows = engine.store.iterations()
    assert [row["all_failed"] for row in rows] == [True, True]
    assert [row["meta_utility_val"] for row in rows] == [0.0, 0.0]
    assert [f["kind"] for row in rows for f in row["failed_tests"]] == ["raised"] * 4
    assert [row["run_reasons"][0].startswith("improver failed") for row in rows] == [True, True]


def test_partial_failure_is_not_all_failed(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r")
    out = run_loop(engine, [FakeTask()], iterations=1, n_tests=2, seed_improver=improver("single"),
                   meta_description="meta")  # fmt: skip
    assert not any(r.all_failed for r in out)
    assert engine.store.iterations()[0]["meta_utility_val"] > 0
