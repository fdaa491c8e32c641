"""The executor interface: run trusted *units of work* and hand their results back as data.

A unit is one piece of trusted work with a stable id: one batch of study attempts, one
meta-utility test of an improver, one (task, repeat) of a transfer.  An executor runs
``fn(*unit.args)`` for every unit, somewhere (this process, a local process pool, a Ray node),
and yields exactly one :class:`UnitResult` per unit id, in completion order.  The caller (the
driver) alone writes the ledger from those results, so where a unit ran never changes what is
recorded, and a unit retried after a node died is still counted once: results are keyed by unit
id and a second result for an id already seen is dropped (:class:`Deduplicator`).

Failures are split the usual way: a unit whose function raises is a *result* (``error`` set, the
driver records it); a unit that cannot run because the machinery failed (every node gone, Ray
missing) is an :class:`ExecutorError`.
"""

from __future__ import annotations

import abc
import json
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from stopbox.harness.errors import StopboxError

__all__ = [
    "Unit",
    "UnitResult",
    "Executor",
    "ExecutorError",
    "ExecutorUnavailableError",
    "Deduplicator",
    "call_unit",
    "check_unique",
    "on_node_close",
    "close_node",
]

_NODE_CLOSERS: list[Callable[[], None]] = []
_NODE_CLOSERS_LOCK = threading.Lock()


def on_node_close(fn: Callable[[], None]) -> None:
    """Call ``fn`` when this node's runner closes (a unit's node-wide resources: a warm sandbox
    pool).  In the driver's own process, :func:`close_node` is called when its executor closes."""
    with _NODE_CLOSERS_LOCK:
        _NODE_CLOSERS.append(fn)


def close_node() -> None:
    """Run and forget the :func:`on_node_close` callbacks (errors are logged, not raised)."""
    with _NODE_CLOSERS_LOCK:
        closers = list(_NODE_CLOSERS)
        _NODE_CLOSERS.clear()
    for fn in reversed(closers):
        try:
            fn()
        except Exception:  # closing must go on for the others
            traceback.print_exc()


class ExecutorError(StopboxError):
    """The executor itself failed (no node left to run a unit, a worker pool broke)."""


class ExecutorUnavailableError(ExecutorError):
    """The executor cannot be used here (its optional dependency is missing, bad address)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One trusted unit of work: ``fn(*args)`` where ``fn`` is given to :meth:`Executor.run`.

    ``id`` is stable across runs (e.g. ``"plain/0-24"``): results are keyed by it.  ``args``
    must be picklable plain data (configs, names, seeds), never open handles."""

    id: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class UnitResult:
    """What one unit returned (``value``) or why it failed for its own reasons (``error``)."""

    id: str
    value: Any = None
    error: str | None = None
    """``"ExceptionClass: message"`` when the unit's function raised; None when it returned."""
    node: str = "local"
    """Where it ran: ``local``, ``pid:<n>`` for a local process pool, ``<ip>/<node-id>`` on Ray."""
    tries: int = 1
    """How many times it was started (more than 1 after a node died under it)."""

    @property
    def ok(self) -> bool:
        return self.error is None


def call_unit(fn: Callable[..., Any], unit: Unit, node: str) -> UnitResult:
    """Run one unit where we are; an exception of the unit is turned into a result."""
    try:
        return UnitResult(unit.id, fn(*unit.args), None, node)
    except Exception as exc:  # the unit's own failure: a recorded error, never a crashed run
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
        return UnitResult(unit.id, None, f"{type(exc).__name__}: {exc}{where}", node)


def check_unique(units: Sequence[Unit]) -> None:
    """Unit ids key the results: two units with one id would be counted once."""
    seen: set[str] = set()
    for unit in units:
        if unit.id in seen:
            raise ValueError(f"duplicate unit id {unit.id!r}: unit ids must be unique")
        seen.add(unit.id)


@dataclass(slots=True)
class Deduplicator:
    """Pass the first result of each unit id, drop later ones (a retried unit counted once)."""

    expected: frozenset[str]
    done: dict[str, UnitResult] = field(default_factory=dict)
    dropped: int = 0

    def accept(self, result: UnitResult) -> bool:
        if result.id not in self.expected:
            raise ExecutorError(f"a result for unit {result.id!r}, which was never submitted")
        if result.id in self.done:
            self.dropped += 1
            return False
        self.done[result.id] = result
        return True

    @property
    def complete(self) -> bool:
        return len(self.done) == len(self.expected)

    def missing(self) -> list[str]:
        return sorted(self.expected - self.done.keys())


@dataclass(slots=True)
class Progress:
    """Units done and in flight, overall and per node (what a progress bar shows)."""

    total: int = 0
    done: int = 0
    in_flight: int = 0
    retried: int = 0
    dropped: int = 0
    """Second results of a unit already counted (dropped, never recorded twice)."""
    per_node: Counter[str] = field(default_factory=Counter)
    in_flight_per_node: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        nodes = ", ".join(f"{n} {c}" for n, c in sorted(self.per_node.items()))
        retried = f", {self.retried} retried" if self.retried else ""
        return f"{self.done}/{self.total} units, {self.in_flight} in flight{retried} [{nodes}]"


class Executor(abc.ABC):
    """Runs units; see the module docstring.  Use as a context manager (``close`` on exit)."""

    name: str = "?"
    status_file: Path | None = None
    """When set, :meth:`summary` is kept up to date there while units finish (``executor.json``
    beside a study: units per node, retried, dropped), so a long run can be watched."""

    def __init__(self) -> None:
        self.progress = Progress()
        self._status_at = 0.0

    def write_status(self, *, force: bool = False) -> None:
        """Write :meth:`summary` to :attr:`status_file` (atomically; at most 5 times a second)."""
        path = self.status_file
        now = time.monotonic()
        if path is None or not path.parent.is_dir() or (not force and now - self._status_at < 0.2):
            return
        self._status_at = now
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.summary(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    @abc.abstractmethod
    def _run(self, fn: Callable[..., Any], units: Sequence[Unit]) -> Iterator[UnitResult]:
        """Yield results for the units (duplicates allowed; :meth:`run` drops them)."""

    def run(
        self,
        fn: Callable[..., Any],
        units: Iterable[Unit],
        *,
        on_result: Callable[[UnitResult, Progress], None] | None = None,
    ) -> Generator[UnitResult, None, None]:
        """``fn(*unit.args)`` for every unit; one result per unit id, in completion order.

        ``fn`` must be a module-level function (it is pickled by reference to run elsewhere).
        Raises :class:`ExecutorError` when a unit cannot be run at all."""
        units = list(units)
        check_unique(units)
        dedup = Deduplicator(frozenset(u.id for u in units))
        # counts add up over the executor's runs (a STOP run sends units many times)
        self.progress.total += len(units)
        if not units:
            return
        try:
            for result in self._run(fn, units):
                if not dedup.accept(result):
                    self.progress.dropped += 1
                    continue
                self.progress.done += 1
                self.progress.per_node[result.node] += 1
                if result.tries > 1:
                    self.progress.retried += 1
                self.write_status()
                if on_result is not None:
                    on_result(result, self.progress)
                yield result
        finally:
            self.write_status(force=True)
        if not dedup.complete:
            raise ExecutorError(
                f"{self.name} executor finished without results for units {dedup.missing()[:5]}"
            )

    def map(self, fn: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``[fn(*a) for a in args]`` in input order; the first unit error is raised."""
        units = [Unit(str(i), tuple(a)) for i, a in enumerate(args)]
        results = {r.id: r for r in self.run(fn, units)}
        out = []
        for unit in units:
            r = results[unit.id]
            if r.error is not None:
                raise ExecutorError(f"unit {unit.id} failed: {r.error}")
            out.append(r.value)
        return out

    @property
    def parallelism(self) -> int:
        """Units this executor runs at once (callers size their units from it)."""
        return 1

    def share(self, obj: Any) -> Any:
        """A handle on ``obj`` that units can take as an argument and call methods of, wherever
        they run, all acting on the one object (the run-wide LM budget).  Locally (inline or
        threads) it is ``obj`` itself; methods must be thread-safe."""
        return obj

    def summary(self) -> dict[str, Any]:
        """Where the last :meth:`run` ran its units (written beside a study or run)."""
        p = self.progress
        return {
            "executor": self.name,
            "describe": self.describe(),
            "units": p.total,
            "done": p.done,
            "retried": p.retried,
            "dropped": p.dropped,
            "per_node": dict(sorted(p.per_node.items())),
            "in_flight_per_node": dict(sorted(p.in_flight_per_node.items())),
        }

    def close(self) -> None:  # noqa: B027 - executors without resources need no close
        """Release what the executor started (worker processes, a private Ray instance)."""

    def describe(self) -> str:
        return self.name

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
