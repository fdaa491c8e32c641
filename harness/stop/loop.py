"""The self-improvement loop: I_0 = the seed improver; I_t = I_{t-1}(û, I_{t-1}, L).

Each step runs the current improver on its own source text with the meta-utility û (train split)
as its utility proxy; every iteration (and the seed, iteration 0) is scored on ``val`` and
``test``.  Finished iterations are in the ledger, so a resumed loop continues where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from stopbox.harness._resources import data_dir
from stopbox.harness.stop._engine import Engine, TaskLike
from stopbox.harness.stop.improver import run_improver
from stopbox.harness.stop.meta import meta_utility, meta_utility_spec

__all__ = [
    "IterationResult",
    "run_loop",
    "SEEDS_DIR",
    "seed_improver_source",
    "meta_utility_source",
]

log = structlog.get_logger("stopbox.loop")
SEEDS_DIR = data_dir("seeds")


def seed_improver_source() -> str:
    return (SEEDS_DIR / "improver.py").read_text(encoding="utf-8")


def meta_utility_source() -> str:
    return (SEEDS_DIR / "meta_utility.py").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class IterationResult:
    iteration: int
    improver_sha: str
    meta_utility_val: float
    meta_utility_test: float
    reason: str
    resumed: bool = False
    failed_tests: tuple[dict[str, object], ...] = ()
    """Meta-utility tests whose improver run failed: ``{"task", "test", "kind", "reason"}``."""
    n_tests: int = 0

    @property
    def all_failed(self) -> bool:
        """Every improver run of this iteration's meta-utility tests failed (û = 0 then)."""
        return self.n_tests > 0 and len(self.failed_tests) >= self.n_tests


def run_loop(
    engine: Engine,
    tasks: Sequence[TaskLike],
    *,
    iterations: int,
    n_tests: int,
    seed_improver: str | None = None,
    meta_description: str | None = None,
    on_iteration: Callable[[IterationResult], None] | None = None,
) -> list[IterationResult]:
    """Run (or resume) iterations 0..``iterations``; return one result per iteration."""
    seed_src = seed_improver if seed_improver is not None else seed_improver_source()
    description = meta_description if meta_description is not None else meta_utility_source()
    engine.inspect(seed_src, kind="improver", iteration=0, generated=False)
    for task in tasks:
        engine.inspect(task.seed_algorithm, kind="solution", iteration=0, generated=False)
    done = {row["iteration"]: row for row in engine.store.iterations()}
    current = seed_src
    out: list[IterationResult] = []
    for t in range(iterations + 1):
        if t in done:
            row = done[t]
            current = engine.store.program_source(row["improver"])
            result = IterationResult(
                t, row["improver"], row["meta_utility_val"], row["meta_utility_test"],
                row.get("reason", "ok"), resumed=True,
                failed_tests=tuple(row.get("failed_tests") or ()),
                n_tests=len(row.get("val_values") or ()),
            )  # fmt: skip
        else:
            result, current = _iteration(engine, tasks, t, current, n_tests, description)
        out.append(result)
        if on_iteration is not None:
            on_iteration(result)
    return out


def _iteration(
    engine: Engine,
    tasks: Sequence[TaskLike],
    t: int,
    current: str,
    n_tests: int,
    description: str,
) -> tuple[IterationResult, str]:
    started = time.monotonic()
    requests_before = engine.stats.lm_requests
    reason = "seed"
    if t > 0:
        step = run_improver(
            engine,
            current,
            current,
            meta_utility_spec(engine, tasks, n_tests, description),
            context=f"iteration/{t}",
            iteration=t,
            output_kind="improver",
        )
        current, reason = step.solution, step.reason
    improver = engine.inspect(current, kind="improver", iteration=t)
    scores = meta_utility(
        engine, current, tasks, ("val", "test"), n_tests, iteration=t, purpose="eval"
    )
    val, test = scores["val"], scores["test"]
    engine.store.put_iteration(
        t,
        improver.sha,
        val.mean,
        test.mean,
        {
            "reason": reason,
            "val_values": list(val.values),
            "test_values": list(test.values),
            "tests": [list(x) for x in val.tests],
            "run_reasons": list(val.reasons),
            "failed_tests": val.failed,
            "all_failed": val.all_failed,
            # HTTP requests behind this iteration's (uncached) LM calls: more than the calls
            # when the server ignores n and is asked again for the rest
            "lm_requests": engine.stats.lm_requests - requests_before,
            "wall_s": round(time.monotonic() - started, 3),
        },
    )
    log.info("iteration_done", iteration=t, improver=improver.sha, val=val.mean, test=test.mean,
             reason=reason)  # fmt: skip
    result = IterationResult(
        t, improver.sha, val.mean, test.mean, reason,
        failed_tests=tuple(val.failed), n_tests=len(val.values),
    )  # fmt: skip
    return result, current
