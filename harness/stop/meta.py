"""The meta-utility: û(I) = mean downstream utility of improver I's output over n tests.

Test ``i`` (``i < n_tests``) runs the improver on the seed algorithm of ``tasks[i % len(tasks)]``
with a utility proxy on that task's public ``train`` split, then scores the returned solution with
the trusted evaluator on each requested split (``train`` while improving, ``val``/``test`` for
reporting).  As in the paper, an improver that raises, times out, is blocked by the gate or returns
no program scores 0 on that test (:data:`FAILED_SCORE`), never the initial solution's utility;
the reason is kept per test (:attr:`MetaScore.failed`).  Tests run in parallel over the engine's
pool; every seed comes from a stable key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from stopbox.harness.stop._engine import Engine, TaskLike, UtilitySpec
from stopbox.harness.stop.improver import failure_kind, run_improver
from stopbox.harness.store import sha256_text

__all__ = [
    "FAILED_SCORE",
    "MetaScore",
    "meta_utility",
    "task_utility_spec",
    "meta_utility_spec",
    "eval_seed",
    "meta_test",
]


@dataclass(frozen=True, slots=True)
class MetaScore:
    split: str
    mean: float
    values: tuple[float, ...]
    """One utility per test, in test order."""
    tests: tuple[tuple[str, int], ...]
    """(task, test index) of each value."""
    reasons: tuple[str, ...]
    """Per test: ``"ok"`` or why the improver run failed (that test then scores 0)."""

    @property
    def failed(self) -> list[dict[str, object]]:
        """The failed tests: ``{"task", "test", "kind", "reason"}`` (kind: :func:`failure_kind`)."""
        return [
            {"task": task, "test": i, "kind": failure_kind(reason), "reason": reason}
            for (task, i), reason in zip(self.tests, self.reasons, strict=True)
            if reason != "ok"
        ]

    @property
    def all_failed(self) -> bool:
        return bool(self.reasons) and all(r != "ok" for r in self.reasons)


FAILED_SCORE = 0.0
"""What a meta-utility test scores when the improver raised, timed out, was blocked or returned
no program (the paper's definition; never the initial solution's utility)."""


def eval_seed(engine: Engine, split: str, index: int) -> int:
    """The evaluation seed of test ``index`` on ``split`` (stable across runs with one seed)."""
    return engine.derive_seed("split", split, index) % 1_000_000


def task_utility_spec(engine: Engine, task: TaskLike, *, seed: int) -> UtilitySpec:
    """The utility an improver sees when improving a solution of ``task`` (public train split)."""
    return UtilitySpec(
        name=f"{task.name}#{seed}",
        description=task.utility_str,
        candidate_kind="solution",
        evaluate=lambda src, it: engine.task_utility(
            task, src, split="train", seed=seed, iteration=it
        ),
    )


def meta_test(
    engine: Engine,
    task: TaskLike,
    improver_src: str,
    i: int,
    splits: Sequence[str],
    iteration: int,
    purpose: str,
) -> tuple[dict[str, float], str]:
    """Test ``i`` of the meta-utility (one unit of work): run the improver on ``task``'s seed
    algorithm, score its solution on each split; ``({split: utility}, reason)``."""
    run = run_improver(
        engine,
        improver_src,
        task.seed_algorithm,
        task_utility_spec(engine, task, seed=eval_seed(engine, "train", i)),
        context=f"{purpose}/{sha256_text(improver_src)}/{task.name}/{i}",
        iteration=iteration,
    )
    if not run.ok:  # the paper: a failed improver scores 0 on this test, no fallback
        return {split: FAILED_SCORE for split in splits}, run.reason
    scores = {
        split: engine.task_utility(
            task, run.solution, split=split, seed=eval_seed(engine, split, i), iteration=iteration
        )
        for split in splits
    }
    return scores, run.reason


def meta_utility(
    engine: Engine,
    improver_src: str,
    tasks: Sequence[TaskLike],
    splits: Sequence[str],
    n_tests: int,
    *,
    iteration: int,
    purpose: str,
) -> dict[str, MetaScore]:
    """û of ``improver_src`` on each split; one improver run per test, shared by the splits.

    ``purpose`` separates the improver runs used to *select* improvers (``"train"``) from the ones
    used to *report* them (``"eval"``), so reported numbers are not the selected maximum.
    """
    if not tasks or n_tests < 1:
        raise ValueError("meta_utility needs at least one task and one test")
    sha = sha256_text(improver_src)
    tests = [(tasks[i % len(tasks)], i) for i in range(n_tests)]
    if engine.executor is not None:  # --executor ray: each test a unit of work on some node
        from stopbox.harness.stop.units import TaskUnit, run_units

        results = run_units(
            engine,
            meta_test,
            {t.name: t for t in tasks},
            [
                TaskUnit(f"{purpose}/{sha}/{task.name}/{i}", task.name,
                         (improver_src, i, tuple(splits), iteration, purpose),
                         contexts=(f"{purpose}/{sha}/{task.name}/{i}",))
                for task, i in tests
            ],
        )  # fmt: skip
    else:
        results = engine.map(
            lambda test: meta_test(
                engine, test[0], improver_src, test[1], tuple(splits), iteration, purpose
            ),
            tests,
        )
    out: dict[str, MetaScore] = {}
    for split in splits:
        values = tuple(r[0][split] for r in results)
        out[split] = MetaScore(
            split=split,
            mean=math.fsum(values) / len(values),
            values=values,
            tests=tuple((t.name, i) for t, i in tests),
            reasons=tuple(r[1] for r in results),
        )
    return out


def meta_utility_spec(
    engine: Engine, tasks: Sequence[TaskLike], n_tests: int, description: str
) -> UtilitySpec:
    """û as the utility proxy of a self-improvement step (candidates are improvers; train)."""
    return UtilitySpec(
        name="meta",
        description=description,
        candidate_kind="improver",
        evaluate=lambda src, it: (
            meta_utility(engine, src, tasks, ("train",), n_tests, iteration=it, purpose="train")[
                "train"
            ].mean
        ),
    )
