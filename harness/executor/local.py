"""``--executor local`` (the default): units in this process, a thread pool or a process pool.

* ``jobs == 1``: every unit runs inline, in order (no pool at all).
* ``processes=True`` (CPU-bound units such as study batches, which scan every attempt): a
  :class:`~concurrent.futures.ProcessPoolExecutor` of ``jobs`` workers; ``fn`` and the arguments
  are pickled, so ``fn`` must be a module-level function.
* ``processes=False`` (units that share in-process state, such as the engine of a run): a thread
  pool of ``jobs``.

Needs nothing beyond the standard library; Ray is never imported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from stopbox.harness.executor._base import Executor, ExecutorError, Unit, UnitResult, call_unit

__all__ = ["LocalExecutor"]


def _run_in_process(fn: Callable[..., Any], unit: Unit) -> UnitResult:
    return call_unit(fn, unit, f"pid:{os.getpid()}")


class LocalExecutor(Executor):
    """Units on this machine: inline, ``jobs`` threads or ``jobs`` processes."""

    name = "local"

    def __init__(self, jobs: int = 1, *, processes: bool = True) -> None:
        super().__init__()
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self.processes = processes

    def describe(self) -> str:
        kind = "processes" if self.processes else "threads"
        return "local (inline)" if self.jobs == 1 else f"local ({self.jobs} {kind})"

    @property
    def parallelism(self) -> int:
        return self.jobs

    def share(self, obj: Any) -> Any:
        if self.processes and self.jobs > 1:  # each worker process would get its own copy
            raise ExecutorError("a local process pool cannot share state between its units")
        return obj

    def _run(self, fn: Callable[..., Any], units: Sequence[Unit]) -> Iterator[UnitResult]:
        if self.jobs == 1 or len(units) == 1:
            for unit in units:
                self.progress.in_flight = 1
                yield call_unit(fn, unit, "local")
            self.progress.in_flight = 0
            return
        workers = min(self.jobs, len(units))
        pool: ThreadPoolExecutor | ProcessPoolExecutor
        if self.processes:
            pool = ProcessPoolExecutor(max_workers=workers)
        else:
            pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures: list[Future[UnitResult]] = [
                pool.submit(_run_in_process, fn, unit)
                if self.processes
                else pool.submit(call_unit, fn, unit, "local")
                for unit in units
            ]
            pending = len(futures)
            for fut in as_completed(futures):
                pending -= 1
                self.progress.in_flight = min(workers, pending)
                try:
                    yield fut.result()
                except BrokenProcessPool as exc:
                    raise ExecutorError(
                        f"a local worker process died ({exc}); finished units are kept, "
                        "resume to run the rest"
                    ) from exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
