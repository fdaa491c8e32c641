"""One STOP run or transfer from an opened run store: sandbox up, engine, loop, sandbox down.

The commands (``harness/commands/run.py``) and ``bench/engine.py`` call these; they return the
engine's counters (evaluations, cache hits, LM calls, time in sandboxed user code, LM wait).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stopbox.harness.lm import LanguageModel
from stopbox.harness.lm._deadline import lm_deadline
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox import started
from stopbox.harness.stop._engine import Engine, EngineStats
from stopbox.harness.stop.loop import IterationResult, run_loop, seed_improver_source
from stopbox.harness.stop.transfer import run_transfer
from stopbox.harness.store import RunStore, stable_key

if TYPE_CHECKING:
    from stopbox.harness.executor import Executor

__all__ = ["execute_run", "execute_transfer", "run_config"]

LMFactory = Callable[[str, int], LanguageModel]


def run_config(
    *,
    tasks: list[str],
    iterations: int,
    lm: Mapping[str, Any],
    seed: int,
    policy: Policy,
    policy_label: str,
    jobs: int,
    record: Path | None = None,
    kind: str = "run",
    **extra: Any,
) -> dict[str, Any]:
    """The run config recorded in the ledger and snapshotted as config.toml."""
    return {
        "kind": kind, "task": tasks[0], "tasks": list(tasks), "iterations": iterations,
        "seed": seed, "lm": dict(lm), "policy": policy_label,
        "policy_hash": stable_key(policy.to_dict())[:16], "backend": policy.sandbox.backend,
        "jobs": jobs, "n_tests": policy.budget.meta_utility_tests,
        "record": str(record) if record else None, **extra, "policy_table": policy.to_dict(),
    }  # fmt: skip


def pool_size(policy: Policy, config: Mapping[str, Any]) -> int:
    """Warm workers to keep: an improver job waits on its RPC while nested jobs run (the outer
    improver, ``jobs`` inner improvers and ``jobs`` task evaluations), so keep that many warm
    instead of cold-starting the extras for every nested job."""
    base = policy.sandbox.pool_size or os.cpu_count() or 1
    return max(base, 2 * int(config.get("jobs", 1)) + 1)


def _load_tasks(names: list[str]) -> list[Any]:
    from stopbox.harness.tasks import load_task

    return [load_task(n) for n in names]


def _engine(
    store: RunStore, config: Mapping[str, Any], policy: Policy, sandbox: Any,
    record: Path | None, lm_factory: LMFactory | None,
    on_progress: Callable[[EngineStats], None] | None,
) -> Engine:  # fmt: skip
    return Engine(
        store=store, sandbox=sandbox, policy=policy, lm_spec=str(config["lm"]["spec"]),
        seed=int(config["seed"]), jobs=int(config["jobs"]), record=record,
        lm_factory=lm_factory, on_progress=on_progress,
        max_concurrency=config.get("max_concurrency"),
    )  # fmt: skip


@contextmanager
def _units_on(engine: Engine, executor: Executor | None, tasks: list[Any]) -> Iterator[None]:
    """With an executor, meta-utility tests and transfer items run as its units of work; units
    it runs in this process borrow the run's sandbox and tasks."""
    if executor is None:
        yield
        return
    from stopbox.harness.stop.units import attach, local_node

    attach(engine, executor)
    with local_node(engine, tasks):
        yield


def _run_wall(policy: Policy) -> Any:
    """The run-wide wall budget as the deadline of every LM call in the run (0: none)."""
    wall = policy.budget.run_wall_s
    return lm_deadline(wall or None, f"run_wall_s = {wall} s")


def execute_run(
    store: RunStore,
    config: Mapping[str, Any],
    policy: Policy,
    *,
    record: Path | None = None,
    lm_factory: LMFactory | None = None,
    on_progress: Callable[[EngineStats], None] | None = None,
    on_iteration: Callable[[IterationResult], None] | None = None,
    executor: Executor | None = None,
) -> tuple[list[IterationResult], EngineStats]:
    """Run (or resume) the self-improvement loop the config describes; ``executor``: where the
    meta-utility tests run (None: this process, ``jobs`` threads)."""
    tasks = _load_tasks(list(config["tasks"]))
    size = pool_size(policy, config)
    with started(policy.sandbox.backend, policy, pool_size=size) as sandbox:
        engine = _engine(store, config, policy, sandbox, record, lm_factory, on_progress)
        engine.sandbox_pool_size = size
        try:
            with _units_on(engine, executor, tasks), _run_wall(policy):
                results = run_loop(
                    engine,
                    tasks,
                    iterations=int(config["iterations"]),
                    n_tests=int(config["n_tests"]),
                    on_iteration=on_iteration,
                )
        finally:
            engine.close()
    return results, engine.stats


def execute_transfer(
    store: RunStore,
    config: Mapping[str, Any],
    policy: Policy,
    improver_src: str,
    *,
    lm_factory: LMFactory | None = None,
    executor: Executor | None = None,
) -> tuple[list[dict[str, Any]], EngineStats]:
    """Evaluate a fixed improver against the seed improver on the config's tasks; ``executor``:
    where the (task, repeat) items run (None: this process, ``jobs`` threads)."""
    tasks = _load_tasks(list(config["tasks"]))
    size = pool_size(policy, config)
    with started(policy.sandbox.backend, policy, pool_size=size) as sandbox:
        engine = _engine(store, config, policy, sandbox, None, lm_factory, None)
        engine.sandbox_pool_size = size
        try:
            with _units_on(engine, executor, tasks), _run_wall(policy):
                rows = run_transfer(engine, improver_src, tasks, repeats=int(config["repeats"]),
                                    seed_improver=seed_improver_source())  # fmt: skip
        finally:
            engine.close()
    return rows, engine.stats
