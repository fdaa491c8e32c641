"""Deadlines that hold while a language-model call is in flight.

A wall budget (an improver's ``improver_wall_s``, the run's ``run_wall_s``, one LM call's overall
deadline) is a point in ``time.monotonic()`` time.  :func:`lm_deadline` narrows the deadline of
the code inside the block (deadlines nest: the earliest wins) and :func:`current_deadline` is what
a backend reads to size its request timeout, to decide whether a retry still fits, and to cancel a
request at the deadline.  Context-local: :meth:`Engine.map` copies the context into its worker
threads, so nested improver runs keep their caller's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from stopbox.harness.errors import BudgetExceededError

__all__ = ["Deadline", "DeadlineExceeded", "lm_deadline", "current_deadline", "check_deadline"]


@dataclass(frozen=True, slots=True)
class Deadline:
    at: float
    """``time.monotonic()`` value at which the work must stop."""
    what: str
    """Which budget set it, for messages (``improver_wall_s = 120 s``)."""

    def remaining(self) -> float:
        return self.at - time.monotonic()


class DeadlineExceeded(BudgetExceededError):
    """A wall budget ran out while (or before) a language-model call was in flight."""

    def __init__(self, deadline: Deadline, detail: str = "") -> None:
        self.deadline = deadline
        self.budget = "wall_time"
        super().__init__(
            f"wall-time budget ({deadline.what}) ran out" + (f": {detail}" if detail else "")
        )


_DEADLINE: ContextVar[Deadline | None] = ContextVar("stopbox_lm_deadline", default=None)


def current_deadline() -> Deadline | None:
    return _DEADLINE.get()


@contextmanager
def lm_deadline(seconds: float | None, what: str) -> Iterator[Deadline | None]:
    """Within the block, LM calls end by ``seconds`` from now (or the enclosing deadline, if
    earlier).  ``None`` or a non-positive value adds no deadline."""
    outer = _DEADLINE.get()
    mine = Deadline(time.monotonic() + seconds, what) if seconds and seconds > 0 else None
    chosen = mine if outer is None or (mine is not None and mine.at < outer.at) else outer
    token = _DEADLINE.set(chosen)
    try:
        yield chosen
    finally:
        _DEADLINE.reset(token)


def check_deadline(detail: str = "") -> None:
    """Raise :class:`DeadlineExceeded` when the current deadline has passed."""
    deadline = _DEADLINE.get()
    if deadline is not None and deadline.remaining() <= 0:
        raise DeadlineExceeded(deadline, detail)
