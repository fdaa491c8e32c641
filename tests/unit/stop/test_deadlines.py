"""Deadlines and run-wide budgets that hold while an LM call is in flight (engine level, with a
real HTTP client against a server on 127.0.0.1 that never answers)."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from stopbox.harness.errors import BudgetExceededError
from stopbox.harness.lm import LanguageModel, LMResponse
from stopbox.harness.lm.openai_backend import OpenAILM
from stopbox.harness.lm.testing import SilentServer
from stopbox.harness.policy import BudgetPolicy, Policy
from stopbox.harness.reporting.run_data import build_report
from stopbox.harness.stop._engine import Engine
from stopbox.harness.stop.loop import run_loop
from stopbox.harness.stop.meta import meta_utility
from stopbox.harness.store import RunStore

from ._fakes import FakeLM, FakeSandbox, FakeTask, flag_marked, improver, no_runtime


def engine_with(root: Path, budget: BudgetPolicy, factory: object, **kw: object) -> Engine:
    policy = dataclasses.replace(Policy(), budget=budget)
    store = RunStore(root, create=True)
    store.init_run(root.name, {"task": "fake", "lm": {"spec": "openai:m"}}, "")
    return Engine(store=store, sandbox=FakeSandbox(policy), policy=policy, lm_spec="openai:m",
                  seed=1, scanner=flag_marked, runtime_scanner=no_runtime,
                  lm_factory=factory, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_silent_server_ends_the_improver_within_its_wall_budget(tmp_path: Path) -> None:
    with SilentServer() as server:
        factory = lambda spec, s: OpenAILM("m", base_url=server.base_url, env={})  # noqa: E731
        engine = engine_with(tmp_path / "r", BudgetPolicy(improver_wall_s=1.0), factory)
        started = time.monotonic()
        scores = meta_utility(engine, improver("best_of_n"), [FakeTask()], ("val",), 1,
                              iteration=0, purpose="eval")  # fmt: skip
        took = time.monotonic() - started
        engine.close()
    # without the deadline the client would wait its 600 s default; the bound is loose for a
    # loaded 2-core machine
    assert took < 60, f"the run took {took:.1f} s against a 1 s wall budget"
    assert scores["val"].values == (0.0,)  # the failed improver scores 0
    (failed,) = scores["val"].failed
    assert "wall-time budget (improver_wall_s = 1 s) ran out" in str(failed["reason"])
    assert server.base_url in str(failed["reason"])
    assert engine.fatal is None  # the improver lost its call; the run goes on


def test_the_run_wall_budget_stops_the_run_with_its_reason(tmp_path: Path) -> None:
    with SilentServer() as server:
        factory = lambda spec, s: OpenAILM("m", base_url=server.base_url, env={})  # noqa: E731
        engine = engine_with(tmp_path / "r", BudgetPolicy(run_wall_s=1), factory)
        from stopbox.harness.lm._deadline import lm_deadline

        started = time.monotonic()
        with lm_deadline(1, "run_wall_s = 1 s"), pytest.raises(BudgetExceededError) as info:
            run_loop(engine, [FakeTask()], iterations=1, n_tests=1,
                     seed_improver=improver("best_of_n"), meta_description="m")  # fmt: skip
        engine.close()
    assert time.monotonic() - started < 60  # not the client's 600 s default
    assert "run_wall_s = 1 s" in str(info.value)


def test_the_run_wide_call_budget_stops_the_run(tmp_path: Path) -> None:
    engine = engine_with(tmp_path / "r", BudgetPolicy(run_lm_calls=2),
                         lambda spec, s: FakeLM(s))  # fmt: skip
    with pytest.raises(BudgetExceededError, match="run_lm_calls = 2"):
        run_loop(engine, [FakeTask()], iterations=2, n_tests=3,
                 seed_improver=improver("single"), meta_description="m")  # fmt: skip
    assert engine.stats.lm_calls == 2
    report = build_report(engine.store)
    assert report["lm_usage"]["calls"] == 2


class SlowLM(LanguageModel):
    model = "slow"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0

    def complete(self, system: str, messages: list[str], *, temperature: float,
                 n: int = 1) -> LMResponse:  # fmt: skip
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.3)
        with self.lock:
            self.in_flight -= 1
        return LMResponse(tuple(m for m in messages for _ in range(n)), 1, 1, model="slow")


@pytest.mark.parametrize("limit", [1, 2])
def test_max_concurrency_bounds_lm_requests_in_flight(tmp_path: Path, limit: int) -> None:
    lm = SlowLM()
    engine = engine_with(tmp_path / "r", BudgetPolicy(), lambda spec, s: lm, jobs=4,
                         max_concurrency=limit)  # fmt: skip
    meta_utility(engine, improver("best_of_n"), [FakeTask()], ("val",), 6, iteration=0,
                 purpose="eval")  # fmt: skip
    assert lm.peak == limit
