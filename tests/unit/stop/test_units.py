"""Units of work of a run and a transfer (``--executor ray``), run here on a local executor.

The unit path (scratch ledger per unit, rows handed back, the driver alone writes the run's
ledger) must give the numbers and the ledger rows of the in-process path, answer finished units
from the ledger without running them again, and count a unit that ran twice once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from stopbox.harness.errors import BudgetExceededError, RunDirError
from stopbox.harness.executor import Executor, LocalExecutor
from stopbox.harness.stop._engine import Engine
from stopbox.harness.stop.meta import meta_utility
from stopbox.harness.stop.transfer import run_transfer
from stopbox.harness.stop.units import attach, local_node
from stopbox.harness.store import RunStore

from ._fakes import FakeLM, FakeTask, improver
from .test_engine import make_engine


class OrderFreeLM(FakeLM):
    """The fake proposer, seeded per request (as the synthetic LM is): order-free answers."""

    per_call_instances = True


def _engine(root: Path, *, jobs: int = 1) -> Engine:
    engine = make_engine(root, jobs=jobs)
    engine._lm_factory = lambda spec, s: OrderFreeLM(s)
    return engine


@contextmanager
def _units(engine: Engine, executor: Executor, tasks: list[Any]) -> Iterator[None]:
    attach(engine, executor)
    with local_node(engine, tasks):
        yield
    engine.executor = None


def _ledger(root: Path) -> dict[str, set[tuple[Any, ...]]]:
    """Ledger rows without wall times and creation stamps (they differ run to run)."""
    db = sqlite3.connect(root / "ledger.sqlite")
    out = {
        "programs": set(db.execute("SELECT sha256, kind, iteration, parent, labels, generated "
                                   "FROM programs")),
        "evaluations": set(db.execute("SELECT key, kind, program, task, split, seed, iteration, "
                                      "value, output, reason, blocked FROM evaluations")),
        "lm_calls": set(db.execute("SELECT key, context, texts FROM lm_calls")),
        "findings": set(db.execute("SELECT program, source, fingerprint FROM findings")),
        "scans": set(db.execute("SELECT program FROM scans")),
        "events": set(db.execute("SELECT key, event, data FROM events")),
    }  # fmt: skip
    db.close()
    return out


def _meta(engine: Engine, tasks: list[Any], src: str) -> Any:
    return meta_utility(engine, src, tasks, ("val", "test"), 4, iteration=1, purpose="eval")


@pytest.mark.parametrize("executor", [LocalExecutor(1), LocalExecutor(3, processes=False)],
                         ids=["inline", "threads"])  # fmt: skip
def test_meta_utility_as_units_equals_the_in_process_path(
    tmp_path: Path, executor: LocalExecutor
) -> None:
    tasks = [FakeTask("a"), FakeTask("b")]
    local = _engine(tmp_path / "local")
    expected = _meta(local, tasks, improver("best_of_n"))
    unit = _engine(tmp_path / "units")
    with _units(unit, executor, tasks):
        got = _meta(unit, tasks, improver("best_of_n"))
    assert got == expected
    assert got["val"].mean > 0.3 and not got["val"].failed
    assert _ledger(tmp_path / "units") == _ledger(tmp_path / "local")
    assert executor.progress.done == 4 and sum(executor.progress.per_node.values()) == 4
    assert unit.stats.improver_runs == local.stats.improver_runs == 4
    assert unit.stats.lm_calls == local.stats.lm_calls > 0


def test_finished_units_are_answered_from_the_ledger(tmp_path: Path) -> None:
    tasks = [FakeTask("a")]
    engine = _engine(tmp_path / "r")
    executor = LocalExecutor(1)
    with _units(engine, executor, tasks):
        first = _meta(engine, tasks, improver("best_of_n"))
    assert executor.progress.done == 4
    lm_calls = engine.stats.lm_calls
    # a resumed run: a fresh engine on the same ledger sends no unit out again
    engine.store.close()
    again = _engine(tmp_path / "r2")
    again.store = RunStore(tmp_path / "r")
    executor2 = LocalExecutor(1)
    with _units(again, executor2, tasks):
        second = _meta(again, tasks, improver("best_of_n"))
    assert second == first
    assert executor2.progress.total == 0  # nothing dispatched
    assert again.stats.lm_calls == 0 and again.stats.improver_runs == 0 and lm_calls > 0


def test_a_unit_cut_short_replays_its_recorded_lm_responses(tmp_path: Path) -> None:
    """The LM responses of a unit's context travel with it: a unit run again after its node died
    (its improver run not finished) asks the LM nothing it already asked."""
    tasks = [FakeTask("a")]
    engine = _engine(tmp_path / "r")
    with _units(engine, LocalExecutor(1), tasks):
        _meta(engine, tasks, improver("best_of_n"))
    calls = engine.stats.lm_calls
    db = sqlite3.connect(tmp_path / "r" / "ledger.sqlite")
    db.execute("DELETE FROM evaluations WHERE kind = 'improve'")  # as if cut short
    db.commit()
    db.close()
    with _units(engine, LocalExecutor(1), tasks):
        _meta(engine, tasks, improver("best_of_n"))
    assert engine.stats.lm_calls == calls  # no new LM call: all replayed
    assert engine.stats.lm_cached > 0


def test_transfer_as_units_equals_the_in_process_path(tmp_path: Path) -> None:
    tasks = [FakeTask("a"), FakeTask("b")]
    local = _engine(tmp_path / "local")
    kw: dict[str, Any] = {"repeats": 2, "seed_improver": improver("identity")}
    expected = run_transfer(local, improver("best_of_n"), tasks, **kw)
    unit = _engine(tmp_path / "units")
    executor = LocalExecutor(2, processes=False)
    with _units(unit, executor, tasks):
        got = run_transfer(unit, improver("best_of_n"), tasks, **kw)
    assert got == expected
    assert executor.progress.done == 4
    assert _ledger(tmp_path / "units") == _ledger(tmp_path / "local")
    assert unit.store.transfer() == local.store.transfer()


def test_a_crashing_improver_is_a_recorded_failure_not_a_unit_error(tmp_path: Path) -> None:
    tasks = [FakeTask("a")]
    engine = _engine(tmp_path / "r")
    with _units(engine, LocalExecutor(1), tasks):
        scores = meta_utility(engine, improver("crash"), tasks, ("val",), 2, iteration=1,
                              purpose="eval")  # fmt: skip
    assert scores["val"].values == (0.0, 0.0)
    assert {f["kind"] for f in scores["val"].failed} == {"raised"}


def test_a_spent_run_budget_in_a_unit_stops_the_run(tmp_path: Path) -> None:
    """The run-wide budget is one object every unit charges (exact, as in one process)."""
    tasks = [FakeTask("a")]
    engine = _engine(tmp_path / "r")
    engine.run_budget.calls = 2
    with _units(engine, LocalExecutor(1), tasks), pytest.raises(BudgetExceededError):
        _meta(engine, tasks, improver("best_of_n"))
    assert engine.run_budget.used_calls == 2  # never more than the budget
    assert engine.fatal is not None
    assert engine.store.lm_usage()["calls"] == 2  # the rows of the calls made are kept


def test_rows_import_is_idempotent_and_checks_program_texts(tmp_path: Path) -> None:
    src = RunStore(tmp_path / "a", create=True)
    sha = src.add_program("print(1)\n", kind="solution", iteration=1)
    src.add_findings(sha, "static", [{"rule_id": "X", "fingerprint": "f"}], scan=True)
    src.put_lm_call("k", context="c", iteration=1, system="s", messages=["m"], temperature=0.0,
                    n=1, texts=["t"], labels=[], prompt_tokens=1, completion_tokens=1,
                    cost_usd=0.0, model="m")  # fmt: skip
    rows = src.export_rows()
    dst = RunStore(tmp_path / "b", create=True)
    assert dst.import_rows(rows) == 4
    assert dst.import_rows(rows) == 0  # a unit that ran twice is counted once
    assert dst.program_source(sha) == "print(1)\n"
    assert dst.lm_call_rows("c")["tables"]["lm_calls"] == rows["tables"]["lm_calls"]
    forged = {"tables": {}, "sources": {sha: "print(2)\n"}}
    with pytest.raises(RunDirError, match="does not match"):
        dst.import_rows(forged)
    with pytest.raises(RunDirError, match="not unit tables"):
        dst.import_rows({"tables": {"iterations": []}, "sources": {}})


def test_share_across_a_process_pool_is_refused() -> None:
    from stopbox.harness.executor import ExecutorError

    with pytest.raises(ExecutorError, match="cannot share"):
        LocalExecutor(2, processes=True).share(object())
    assert LocalExecutor(2, processes=False).share(budget := object()) is budget


def test_a_relative_replay_cassette_is_read_from_the_drivers_directory(tmp_path: Path) -> None:
    from stopbox.harness.stop.units import NodeSpec, _lm_factory

    spec = NodeSpec({}, "replay:runs/c.jsonl", 0, 0, 1, cwd=str(tmp_path))
    factory = _lm_factory(spec)
    assert factory is not None
    with pytest.raises(Exception, match=str(tmp_path / "runs" / "c.jsonl")):
        factory(spec.lm_spec, 0)  # the cassette is looked for there (and is missing)
    assert _lm_factory(NodeSpec({}, "replay:/abs/c.jsonl", 0, 0, 1, cwd="/x")) is None
    assert _lm_factory(NodeSpec({}, "synthetic", 0, 0, 1, cwd="/x")) is None
