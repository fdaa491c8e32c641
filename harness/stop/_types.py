"""Values and protocols the engine's parts share (tasks, scanners, gate results, counters)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stopbox.harness.policy import Policy
from stopbox.harness.sandbox._base import ExecResult, Sandbox

__all__ = [
    "TaskLike",
    "Scanner",
    "RuntimeScanner",
    "Inspection",
    "UtilitySpec",
    "EngineStats",
    "default_scanner",
    "default_runtime_scanner",
]


class ScoreLike(Protocol):
    utility: float
    reason: str


class TaskLike(Protocol):
    """What the engine needs of a task (harness/tasks.py ``Task``)."""

    name: str
    utility_str: str
    seed_algorithm: str

    def evaluate(
        self, sandbox: Sandbox, solution_source: str, *, split: str, seed: int
    ) -> Any:  # -> Score(utility, reason, calls, wall_s, results)
        ...


Scanner = Callable[[str, str], Sequence[Mapping[str, Any]]]
"""``(source, path) -> finding dicts`` (static; ``stopbox.detectors.scan`` by default)."""
RuntimeScanner = Callable[[ExecResult, str], Sequence[Mapping[str, Any]]]
"""``(result, path) -> finding dicts`` (runtime; ``stopbox.detectors.runtime_findings`` by
default)."""


def _finding_dict(f: Any) -> dict[str, Any]:
    if isinstance(f, Mapping):
        return dict(f)
    full = getattr(f, "to_full_json", None)
    data: dict[str, Any] = dict(full() if callable(full) else f.to_json())
    data.setdefault("fingerprint", getattr(f, "fingerprint", ""))
    data.setdefault("source", getattr(f, "source", "static"))
    return data


def default_scanner(policy: Policy) -> Scanner:
    from stopbox import detectors

    def scan(source: str, path: str) -> list[dict[str, Any]]:
        return [_finding_dict(f) for f in detectors.scan(source, path=path, policy=policy)]

    return scan


def default_runtime_scanner() -> RuntimeScanner:
    from stopbox import detectors

    def scan(result: ExecResult, path: str) -> list[dict[str, Any]]:
        return [_finding_dict(f) for f in detectors.runtime_findings(result, path)]

    return scan


@dataclass(frozen=True, slots=True)
class Inspection:
    sha: str
    findings: tuple[Mapping[str, Any], ...]
    blocking: tuple[str, ...]
    """Rule ids of findings at or above ``policy.gate.block_at``."""
    blocked: bool
    """Blocking findings and ``on_blocking = "block"``: do not run, utility 0."""


@dataclass(frozen=True, slots=True)
class UtilitySpec:
    """What the ``utility`` proxy of one improver run shows and does."""

    name: str
    """Task name, or ``"meta"`` for the meta-utility."""
    description: str
    """``utility.str``."""
    candidate_kind: str
    """``"solution"`` or ``"improver"``: what the candidates passed to it are."""
    evaluate: Callable[[str, int], float]
    """``(candidate source, iteration) -> utility`` (trusted, sandboxed)."""


@dataclass(slots=True)
class EngineStats:
    evaluations: int = 0
    cached: int = 0
    lm_calls: int = 0
    lm_cached: int = 0
    lm_requests: int = 0
    """HTTP requests behind the LM calls (more than calls when a server ignores ``n``)."""
    improver_runs: int = 0
    sandbox_s: float = 0.0
    lm_s: float = 0.0
    """Wall time waiting for the LM backend (cache misses only)."""
    """Wall time of sandboxed user code as measured on the trusted side."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to_json(self) -> dict[str, float]:
        with self.lock:
            return {k: getattr(self, k) for k in (
                "evaluations", "cached", "lm_calls", "lm_cached", "lm_requests", "improver_runs",
                "sandbox_s", "lm_s")}  # fmt: skip

    def add(self, **deltas: float) -> None:
        with self.lock:
            for key, value in deltas.items():
                setattr(self, key, getattr(self, key) + value)
