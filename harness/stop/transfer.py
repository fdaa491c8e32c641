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

__all__ = ["run_transfer", "transfer_item", "TRANSFER_ITERATION"]

TRANSFER_ITERATION = -1


def _improved(
    engine: Engine, src: str, task: TaskLike, r: int, who: str, iteration: int
) -> tuple[float, dict[str, Any] | None]:
    run = run_improver(
        engine,
        src,
        task.seed_algorithm,
        task_utility_spec(engine, task, seed=eval_seed(engine, "train", r)),
        context=f"transfer/{sha256_text(src)}/{task.name}/{r}",
        iteration=iteration,
    )
    if not run.ok:  # the paper: a failed improver scores 0 (never the initial solution's)
        failure = {"task": task.name, "repeat": r, "improver": who,
                   "kind": failure_kind(run.reason), "reason": run.reason}  # fmt: skip
        return FAILED_SCORE, failure
    return engine.task_utility(
        task, run.solution, split="test", seed=eval_seed(engine, "test", r), iteration=iteration
    ), None


def transfer_item(
    engine: Engine, task: TaskLike, r: int, improver_src: str, seed_improver: str, iteration: int
) -> tuple[tuple[float, float, float], list[dict[str, Any]]]:
    """Repeat ``r`` on ``task`` (one unit of work): u(seed solution), the seed improver's and
    the improver's output on the test split; and the failed improver runs."""
    engine.inspect(task.seed_algorithm, kind="solution", iteration=iteration, generated=False)
    base = engine.task_utility(
        task, task.seed_algorithm, split="test", seed=eval_seed(engine, "test", r),
        iteration=iteration,
    )  # fmt: skip
    seed_u, f1 = _improved(engine, seed_improver, task, r, "seed_improver", iteration)
    mine, f2 = _improved(engine, improver_src, task, r, "improver", iteration)
    return (base, seed_u, mine), [f for f in (f1, f2) if f is not None]


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
    if engine.executor is not None:  # --executor ray: each (task, repeat) a unit of work
        from stopbox.harness.stop.units import TaskUnit, run_units

        outs = run_units(
            engine,
            transfer_item,
            {t.name: t for t in tasks},
            [
                TaskUnit(f"transfer/{task.name}/{r}", task.name,
                         (r, improver_src, seed_improver, iteration),
                         contexts=tuple(f"transfer/{sha256_text(src)}/{task.name}/{r}"
                                        for src in (seed_improver, improver_src)))
                for task, r in jobs
            ],
        )  # fmt: skip
    else:
        outs = engine.map(
            lambda job: transfer_item(
                engine, job[0], job[1], improver_src, seed_improver, iteration
            ),
            jobs,
        )
    values = [out[0] for out in outs]
    failures = [f for out in outs for f in out[1]]
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
