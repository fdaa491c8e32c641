"""Transfer: apply a fixed improver to other tasks (the paper's Table 1, with spread).

Per task and repeat ``r``: u(seed solution) on the test split, the seed improver's output and the
given improver's output on the same test instance.  The paper reports no intervals; the spread
over repeats is given here (:func:`stopbox.harness.stats.spread`).  An improver run that fails
scores 0 (as in the meta-utility) and is listed in the row's ``failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stopbox.harness.stats import spread
from stopbox.harness.stop._engine import Engine, TaskLike
from stopbox.harness.stop.improver import failure_kind, run_improver
from stopbox.harness.stop.meta import FAILED_SCORE, eval_seed, task_utility_spec
from stopbox.harness.store import sha256_text

__all__ = ["run_transfer", "TRANSFER_ITERATION"]

TRANSFER_ITERATION = -1


def run_transfer(
    engine: Engine,
    improver_src: str,
    tasks: Sequence[TaskLike],
    *,
    repeats: int,
    seed_improver: str,
    iteration: int = TRANSFER_ITERATION,
) -> list[dict[str, Any]]:
    """Evaluate ``improver_src`` against the seed improver on each task; store and return rows.

    Programs first seen here are recorded under iteration ``-1`` so that adding transfer rows to
    a run leaves its per-iteration counts unchanged.
    """
    engine.inspect(improver_src, kind="improver", iteration=iteration, generated=False)
    engine.inspect(seed_improver, kind="improver", iteration=iteration, generated=False)
    jobs = [(task, r) for task in tasks for r in range(repeats)]

    failures: list[dict[str, Any]] = []

    def improved(src: str, task: TaskLike, r: int, who: str) -> float:
        run = run_improver(
            engine,
            src,
            task.seed_algorithm,
            task_utility_spec(engine, task, seed=eval_seed(engine, "train", r)),
            context=f"transfer/{sha256_text(src)}/{task.name}/{r}",
            iteration=iteration,
        )
        if not run.ok:  # the paper: a failed improver scores 0 (never the initial solution's)
            failures.append({"task": task.name, "repeat": r, "improver": who,
                             "kind": failure_kind(run.reason), "reason": run.reason})  # fmt: skip
            return FAILED_SCORE
        return engine.task_utility(
            task, run.solution, split="test", seed=eval_seed(engine, "test", r), iteration=iteration
        )

    def one(item: tuple[TaskLike, int]) -> tuple[float, float, float]:
        task, r = item
        engine.inspect(task.seed_algorithm, kind="solution", iteration=iteration, generated=False)
        base = engine.task_utility(
            task, task.seed_algorithm, split="test", seed=eval_seed(engine, "test", r),
            iteration=iteration,
        )  # fmt: skip
        seed_u = improved(seed_improver, task, r, "seed_improver")
        return base, seed_u, improved(improver_src, task, r, "improver")

    values = engine.map(one, jobs)
    rows = []
    for task in tasks:
        mine = [v for (t, _), v in zip(jobs, values, strict=True) if t is task]
        row = {
            "task": task.name,
            "u_seed_solution": spread(v[0] for v in mine).to_json(),
            "seed_improver": spread(v[1] for v in mine).to_json(),
            "improver": spread(v[2] for v in mine).to_json(),
            "values": [list(v) for v in mine],
            "failed": sorted(
                (f for f in failures if f["task"] == task.name),
                key=lambda f: (f["repeat"], f["improver"]),
            ),
        }
        engine.store.put_transfer(task.name, row)
        rows.append(row)
    return rows
