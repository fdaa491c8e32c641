"""``--executor local|ray`` and ``--ray-address`` of ``stopbox run`` and ``stopbox transfer``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from stopbox.harness.errors import UsageError

__all__ = ["ExecutorName", "EXECUTOR_HELP", "RAY_ADDRESS_HELP", "check_flags", "open_executor"]

EXECUTOR_HELP = (
    "Where the units of work run: local (this machine, --jobs threads) or ray (the nodes of a "
    "Ray cluster; needs the ray extra)."
)
RAY_ADDRESS_HELP = (
    "Ray cluster to join (HOST:PORT of the head); default: a private local Ray instance. "
    "The LM key travels to this cluster."
)


class ExecutorName(StrEnum):
    local = "local"
    ray = "ray"


def check_flags(
    name: ExecutorName | str | None, ray_address: str | None, record: Path | None
) -> None:
    """Bad combinations of the executor flags: a usage error (exit 2) before any work."""
    chosen = str(name.value if isinstance(name, ExecutorName) else (name or "local"))
    if chosen == "local" and ray_address is not None:
        raise UsageError("--ray-address needs --executor ray")
    if chosen != "local" and record is not None:
        raise UsageError("--record needs --executor local (one process writes the cassette)")


def open_executor(
    name: ExecutorName | str | None,
    ray_address: str | None,
    *,
    jobs: int,
    max_concurrency: int | None,
    record: Path | None,
    status_file: Path | None,
) -> Any:
    """The executor of a run or transfer: None for ``local`` (the engine's own threads, no Ray
    imported), a :class:`~stopbox.harness.executor.RayExecutor` for ``ray``.  Bad combinations
    are a usage error (exit 2)."""
    check_flags(name, ray_address, record)
    chosen = str(name.value if isinstance(name, ExecutorName) else (name or "local"))
    if chosen == "local":
        return None
    from stopbox.harness.executor import make_executor

    return make_executor(
        chosen,
        jobs=jobs,
        ray_address=ray_address,
        max_concurrency=max_concurrency or None,
        status_file=status_file,
    )
