"""Executors: where trusted units of work run (this machine, or the nodes of a Ray cluster).

``make_executor("local", jobs=4)`` or ``make_executor("ray", address="10.0.0.5:6379")`` gives an
:class:`Executor`; ``executor.run(fn, units)`` yields one :class:`UnitResult` per unit.  The
local executor needs nothing; Ray is imported only by :class:`RayExecutor` (``stopbox[ray]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stopbox.harness.errors import UsageError
from stopbox.harness.executor._base import (
    Deduplicator,
    Executor,
    ExecutorError,
    ExecutorUnavailableError,
    Progress,
    Unit,
    UnitResult,
    call_unit,
    close_node,
    on_node_close,
)
from stopbox.harness.executor.local import LocalExecutor

if TYPE_CHECKING:
    from stopbox.harness.executor.ray_ import RayExecutor

__all__ = [
    "EXECUTORS",
    "Deduplicator",
    "Executor",
    "ExecutorError",
    "ExecutorUnavailableError",
    "LocalExecutor",
    "Progress",
    "RayExecutor",
    "Unit",
    "UnitResult",
    "call_unit",
    "close_node",
    "make_executor",
    "on_node_close",
    "write_executor_summary",
]

EXECUTOR_FILE = "executor.json"

EXECUTORS = ("local", "ray")
DEFAULT_RAY_IN_FLIGHT = 64


def make_executor(
    name: str | None,
    *,
    jobs: int = 1,
    ray_address: str | None = None,
    max_concurrency: int | None = None,
    processes: bool = True,
    status_file: Path | None = None,
) -> Executor:
    """The executor the CLI flags name (``--executor``, ``--ray-address``, ``--jobs``,
    ``--max-concurrency``); bad combinations are a :class:`UsageError` (exit 2).
    ``status_file``: where to keep the executor's summary up to date (``executor.json``)."""
    executor = _make(name, jobs, ray_address, max_concurrency, processes)
    executor.status_file = status_file
    return executor


def _make(
    name: str | None,
    jobs: int,
    ray_address: str | None,
    max_concurrency: int | None,
    processes: bool,
) -> Executor:
    name = name or "local"
    if name not in EXECUTORS:
        raise UsageError(f"--executor {name!r}: expected one of {', '.join(EXECUTORS)}")
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if max_concurrency is not None and max_concurrency < 1:
        raise UsageError("--max-concurrency must be at least 1")
    if name == "local":
        if ray_address is not None:
            raise UsageError("--ray-address needs --executor ray")
        return LocalExecutor(jobs, processes=processes)
    from stopbox.harness.executor.ray_ import RayExecutor

    in_flight = max_concurrency or max(DEFAULT_RAY_IN_FLIGHT, jobs)
    return RayExecutor(ray_address, in_flight=in_flight, num_cpus=jobs)


def write_executor_summary(executor: Executor, out_dir: Path, console: Any = None) -> Path:
    """Write where the units ran (``executor.json`` in ``out_dir``); print one line to
    ``console`` (a rich Console) for executors that spread units over processes or nodes."""
    path = Path(out_dir) / EXECUTOR_FILE
    if executor.status_file != path:
        path.write_text(json.dumps(executor.summary(), indent=2) + "\n", encoding="utf-8")
    if console is not None and executor.parallelism > 1:
        console.print(f"executor: {executor.describe()}: {executor.progress.describe()}")
    return path


def __getattr__(name: str) -> object:  # RayExecutor without importing Ray up front
    if name == "RayExecutor":
        from stopbox.harness.executor.ray_ import RayExecutor

        return RayExecutor
    raise AttributeError(name)
