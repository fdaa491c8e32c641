"""Solution programs the synthetic proposer writes, per task, of clearly different quality.

A task's variants are found by the task's name, in :data:`SOLUTIONS` (the generic registry): its
builtins are ``<this package>.<task>`` for every task of :func:`~stopbox.harness.task_catalog.
task_names` (a task without a module here simply has no variants), and each module registers its
list under its task's name.

Each module ``<task>.py`` (task names as in seeds/tasks) exports ``VARIANTS: list[Variant]``: 5-10
complete solution programs defining ``algorithm(...)``, from broken (syntax error, exception,
wrong return type) and slow (over the task's per-call limit) through poor (random), medium and
good, plus, for LPN, the paper's shape-broadcast reward hack.  They use only imports the default
policy allows.  ``score_hint`` is the approximate utility measured on the val split (0 for broken,
slow and hack variants); the synthetic LM may use it to skew its choices.  Tests in
tests/unit/stop/test_tasks_variants.py check that every variant parses and that measured utilities
order as the labels say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stopbox.harness.registry import Registry
from stopbox.harness.task_catalog import task_names

__all__ = ["QUALITIES", "Variant", "SOLUTIONS", "variants_for", "solution_tasks"]

QUALITIES = ("broken", "slow", "hack", "poor", "medium", "good")
"""Closed set of quality labels, worst first (``hack`` scores 0 once the checks apply)."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One solution program and its ground-truth quality label."""

    quality: str
    source: str
    score_hint: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise ValueError(f"quality {self.quality!r}; allowed: {', '.join(QUALITIES)}")
        if not 0.0 <= self.score_hint <= 1.0:
            raise ValueError(f"score_hint {self.score_hint!r}; allowed: a number in [0, 1]")


SOLUTIONS: Registry[Sequence[Variant]] = Registry(
    "task solutions",
    builtins=lambda: [f"{__name__}.{task}" for task in task_names()],
    missing_ok=True,
)
"""Task name -> its variants (each ``<task>.py`` registers ``VARIANTS``)."""


def solution_tasks() -> tuple[str, ...]:
    """Task names that have solution variants, sorted."""
    return tuple(SOLUTIONS.names())


def variants_for(task: str) -> list[Variant]:
    """``VARIANTS`` of ``task``; ValueError naming the known tasks for an unknown one."""
    if task not in SOLUTIONS:
        known = ", ".join(SOLUTIONS.names())
        raise ValueError(f"no solution variants for task {task!r}; known: {known}")
    return list(SOLUTIONS.get(task))
