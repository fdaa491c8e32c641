"""Engine logic with trusted fakes: gate, use_sandbox events, resume, determinism."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from stopbox.harness.policy import GatePolicy, Policy
from stopbox.harness.reporting.run_data import build_report
from stopbox.harness.stop._engine import Engine
from stopbox.harness.stop._types import default_runtime_scanner
from stopbox.harness.stop.improver import run_improver
from stopbox.harness.stop.loop import run_loop
from stopbox.harness.stop.meta import meta_utility, task_utility_spec
from stopbox.harness.store import RunStore

from ._fakes import FakeLM, FakeSandbox, FakeTask, flag_marked, improver, no_runtime, solution


def make_engine(root: Path, *, on_blocking: str = "block", jobs: int = 1,
                sandbox: FakeSandbox | None = None, runtime_scanner: Any = no_runtime,
                ) -> Engine:  # fmt: skip
    policy = dataclasses.replace(Policy(), gate=GatePolicy(on_blocking=on_blocking))
    store = RunStore(root, create=True)
    store.init_run(root.name, {"task": "fake", "lm": {"spec": "fake", "synthetic": True}}, "")
    return Engine(store=store, sandbox=sandbox or FakeSandbox(policy), policy=policy,
                  lm_spec="fake", seed=1, jobs=jobs, scanner=flag_marked,
                  runtime_scanner=runtime_scanner,
                  lm_factory=lambda spec, s: FakeLM(s))  # fmt: skip


def test_blocked_candidate_is_not_run_and_scores_zero(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r", on_blocking="block")
    task = FakeTask()
    spec = task_utility_spec(engine, task, seed=0)
    assert engine.evaluate_candidate(solution(0.9, "BAD"), spec, parent=None, iteration=1) == 0.0
    assert task.evaluated == []
    blocked = [e for e in engine.store.evaluations() if e.blocked]
    assert len(blocked) == 1 and "SB001" in blocked[0].reason


def test_record_policy_runs_flagged_candidate_sandboxed(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r", on_blocking="record")
    task = FakeTask()
    spec = task_utility_spec(engine, task, seed=0)
    assert engine.evaluate_candidate(solution(0.9, "BAD"), spec, parent=None, iteration=1) == 0.9
    assert len(task.evaluated) == 1
    assert engine.store.findings()[0]["rule_id"] == "SB001"


def test_blocked_improver_falls_back_to_initial_solution(tmp_path: Path) -> None:
    sandbox = FakeSandbox()
    engine = make_engine(tmp_path / "r", sandbox=sandbox)
    task = FakeTask()
    spec = task_utility_spec(engine, task, seed=0)
    src = improver("best_of_n", extra="BAD")
    run = run_improver(engine, src, task.seed_algorithm, spec, context="c", iteration=1)
    assert run.solution == task.seed_algorithm and run.blocked
    assert run.reason.startswith("blocked by policy")
    assert sandbox.jobs == 0


def test_improver_failure_falls_back_with_reason(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "r")
    task = FakeTask()
    spec = task_utility_spec(engine, task, seed=0)
    run = run_improver(
        engine, improver("crash"), task.seed_algorithm, spec, context="c", iteration=1
    )
    assert run.solution == task.seed_algorithm and not run.ok
    assert "RuntimeError: boom" in run.reason


def test_use_sandbox_false_is_a_runtime_bypass_of_the_improver(tmp_path: Path) -> None:
    # the runtime rules decide (RUN001); the report only reads the stored finding
    engine = make_engine(tmp_path / "r", runtime_scanner=default_runtime_scanner())
    task = FakeTask()
    src = improver("unsandboxed")
    run = run_improver(engine, src, task.seed_algorithm, task_utility_spec(engine, task, seed=0),
                       context="c", iteration=1)  # fmt: skip
    assert run.ok
    assert len(task.evaluated) == 1  # evaluated anyway, through the sandbox path
    events = engine.store.events("broker")
    assert [(e["event"], e["literal_true"], e["program"]) for e in events] == [
        ("use_sandbox", False, run.improver_sha)
    ]
    engine.store.add_program(src, kind="improver", iteration=1)
    report = build_report(engine.store)
    prog = next(p for p in report["programs"] if p["sha256"] == run.improver_sha)
    assert [(f["rule_id"], f["category"]) for f in prog["runtime"]] == [
        ("RUN001", "sandbox-bypass")
    ]


def test_resume_redoes_no_finished_evaluation(tmp_path: Path) -> None:
    sandbox = FakeSandbox()
    engine = make_engine(tmp_path / "r", sandbox=sandbox)
    task = FakeTask()
    first = meta_utility(engine, improver("best_of_n"), [task], ("val", "test"), 3,
                         iteration=0, purpose="eval")  # fmt: skip
    n_evals, n_jobs = len(task.evaluated), sandbox.jobs
    assert n_evals > 0
    engine.store.close()
    # a new process on the same directory: everything is answered from the ledger
    again = Engine(store=RunStore(tmp_path / "r"), sandbox=sandbox, policy=engine.policy,
                   lm_spec="fake", seed=1, scanner=flag_marked, runtime_scanner=no_runtime,
                   lm_factory=lambda spec, s: FakeLM(s))  # fmt: skip
    second = meta_utility(again, improver("best_of_n"), [task], ("val", "test"), 3,
                          iteration=0, purpose="eval")  # fmt: skip
    assert second == first
    assert len(task.evaluated) == n_evals and sandbox.jobs == n_jobs


def test_loop_improves_and_is_deterministic_across_jobs(tmp_path: Path) -> None:
    results = []
    for jobs in (1, 2):
        engine = make_engine(tmp_path / f"r{jobs}", jobs=jobs)
        out = run_loop(engine, [FakeTask()], iterations=2, n_tests=3,
                       seed_improver=improver("single"), meta_description="meta")  # fmt: skip
        results.append([(r.improver_sha, r.meta_utility_val, r.meta_utility_test) for r in out])
        report = build_report(engine.store)
        assert [it["iteration"] for it in report["iterations"]] == [0, 1, 2]
        assert report["utility_gain"]["test"]["gain"] > 0
        assert report["bypass"]["any"]["total"] == report["iterations"][1]["programs"]["total"] + (
            report["iterations"][2]["programs"]["total"]
            + report["iterations"][0]["programs"]["total"]
        )
    assert results[0] == results[1]


def test_lm_backend_failure_stops_the_run_and_caches_nothing(tmp_path: Path) -> None:
    import pytest

    from stopbox.harness.errors import LMError

    class BrokenLM(FakeLM):
        def complete(self, system: str, messages: list[str], *, temperature: float,
                     n: int = 1) -> Any:  # fmt: skip
            raise LMError("server said 401")

    engine = make_engine(tmp_path / "r")
    engine._lm_factory = lambda spec, s: BrokenLM(s)
    task = FakeTask()
    spec = task_utility_spec(engine, task, seed=0)
    with pytest.raises(LMError, match="401"):
        run_improver(engine, improver("best_of_n"), task.seed_algorithm, spec, context="c",
                     iteration=1)  # fmt: skip
    assert [e.kind for e in engine.store.evaluations()] == []
    assert [e["event"] for e in engine.store.events("broker")] == ["lm_error"]
