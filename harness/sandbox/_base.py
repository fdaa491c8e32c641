"""The one sandbox interface every backend implements, and the backend registry.

A backend launches *workers* (``harness/sandbox/worker/_worker.py``: stdlib + preloaded allowed
modules, nothing else from the harness) that speak length-prefixed JSON frames on a pipe.  For
each job a worker forks a child, confines it (workdir, scrubbed env, closed fds, rlimits, Landlock,
namespaces, seccomp from the policy), loads the untrusted module, then the harness drives calls
one at a time.  Untrusted code reaches the harness only through :data:`RpcHandler`.

What untrusted code does is a *result* (:class:`ExecResult` with a :class:`Status`); only the
machinery failing raises (:class:`~harness.errors.SandboxUnavailableError`,
:class:`~harness.errors.SandboxError`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from stopbox.harness.errors import SandboxUnavailableError, UsageError
from stopbox.harness.policy import Policy
from stopbox.harness.registry import Registry

__all__ = [
    "Status",
    "ExecResult",
    "RpcHandler",
    "RpcError",
    "Job",
    "Sandbox",
    "backend",
    "get_backend",
    "backend_names",
    "available_backends",
    "Proxy",
    "started",
]


class Status(StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    VIOLATION = "violation"
    KILLED = "killed"


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of loading a module or of one call, as seen from the trusted side.

    ``events`` are audit-hook / broker events recorded in the child (dicts with at least
    ``{"kind": ..., "event": ...}``); ``violations`` are denials and kills (seccomp/Landlock
    denials, SIGSYS, rlimit kills, output-cap breaches) with at least
    ``{"kind": ..., "detail": ...}``.
    ``wall_s`` is measured on the trusted side of the pipe.
    """

    status: Status
    value: Any = None
    stdout: str = ""
    stderr: str = ""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_mb: float = 0.0
    events: tuple[Mapping[str, Any], ...] = ()
    violations: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    """Traceback or reason text when status is not ok."""
    truncated: bool = False
    """True when stdout/stderr hit the policy's output cap."""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def layers(self) -> dict[str, list[str]]:
        """The confinement layers of this job: ``{"applied": [...], "missing": [...]}``.

        Read from the job's ``{"kind": "sandbox", "event": "layers"}`` event (written by the
        trusted worker before the untrusted code loads); a result without one (no job ran)
        has none applied and ``"unknown"`` missing."""
        for event in self.events:
            if event.get("kind") == "sandbox" and event.get("event") == "layers":
                applied = event.get("applied")
                missing = event.get("missing")
                if isinstance(applied, list) and isinstance(missing, list):
                    return {"applied": [str(a) for a in applied],
                            "missing": [str(m) for m in missing]}  # fmt: skip
                if event.get("unsafe"):
                    return {"applied": [], "missing": ["sandbox"]}
        return {"applied": [], "missing": ["unknown"]}

    def to_json(self) -> dict[str, Any]:
        """The `stopbox exec --json` object (DESIGN.md §7)."""
        return {
            "status": self.status.value,
            "value": self.value,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "wall_s": round(self.wall_s, 6),
            "cpu_s": round(self.cpu_s, 6),
            "max_rss_mb": round(self.max_rss_mb, 3),
            "events": [dict(e) for e in self.events],
            "violations": [dict(v) for v in self.violations],
            "error": self.error,
            "truncated": self.truncated,
            "layers": self.layers,
        }


class RpcError(Exception):
    """Raised by an RPC handler to make the call fail *inside the sandbox* (as an exception there).

    ``kind`` becomes the exception type name shown to untrusted code (e.g. ``BudgetExceeded``).
    """

    def __init__(self, message: str, kind: str = "RuntimeError") -> None:
        super().__init__(message)
        self.kind = kind


RpcHandler = Callable[[str, str, Sequence[Any], Mapping[str, Any]], Any]
"""``handler(obj, method, args, kwargs) -> JSON-able value`` for calls on brokered proxies.

``obj`` is the proxy name (``"language_model"``, ``"utility"``), ``method`` the method
(``"batch_prompt"``, ``"__call__"``, ``"__getattr__"``, ``"__setattr__"`` ...).  Raise
:class:`RpcError` to fail the call inside the sandbox.
"""


@dataclass(frozen=True, slots=True)
class Proxy:
    """A brokered object handed to untrusted code as a call argument.

    Encoded on the wire as ``{"__stopbox_proxy__": name, "attrs": {...}, "live": [...],
    "methods": [...], "callable": bool}``.  Static ``attrs`` are plain values; ``live`` attributes
    are fetched by RPC (``__getattr__``) on every access; ``methods`` and ``__call__`` are RPC
    calls; attribute writes are refused in the sandbox and reported via ``__setattr__`` RPC.
    """

    name: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    live: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    callable: bool = False


class Job(abc.ABC):
    """A loaded untrusted module in its own confined child; calls run one at a time."""

    load_result: ExecResult
    """Status/stdout/events of loading (or, for scripts, running) the module."""

    @abc.abstractmethod
    def call(
        self,
        entry: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Call ``entry`` in the child.  Args may contain numpy arrays and :class:`Proxy` values."""

    @abc.abstractmethod
    def close(self) -> ExecResult:
        """End the job (kill its child and every process it made); final cumulative result."""

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sandbox(abc.ABC):
    """A backend: a warm pool of workers of one kind."""

    name: ClassVar[str]

    def __init__(self, policy: Policy, *, pool_size: int | None = None) -> None:
        self.policy = policy
        self.pool_size = pool_size

    @classmethod
    @abc.abstractmethod
    def unavailable_reason(cls) -> str | None:
        """None when this backend can start here; otherwise what to install or start."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start the warm pool; raise SandboxUnavailableError with what to install or start."""

    @abc.abstractmethod
    def job(
        self,
        source: str,
        *,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        as_script: bool = False,
    ) -> Job:
        """Fork a confined child on a pooled worker and load ``source`` into it."""

    def exec(
        self,
        source: str,
        *,
        entry: str | None = None,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Load ``source`` (as a script when ``entry`` is None) and call ``entry`` once."""
        with self.job(source, filename=filename, rpc=rpc, as_script=entry is None) as job:
            if entry is None or not job.load_result.ok:
                return job.close() if job.load_result.ok else job.load_result
            job.call(entry, args, kwargs, timeout)
            return job.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Stop every worker; no process of this sandbox survives."""

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


BACKENDS: Registry[type[Sandbox]] = Registry(
    "backend",
    # Importing a module registers its backend; a backend module that is not there is absent.
    builtins=tuple(
        f"stopbox.harness.sandbox.backends.{module}"
        for module in ("seccomp", "gvisor", "docker", "none")
    ),
    missing_ok=True,
)
S = TypeVar("S", bound=type[Sandbox])


def backend(name: str) -> Callable[[S], S]:
    """Class decorator: register a backend under ``name``."""

    def register(cls: S) -> S:
        cls.name = name
        BACKENDS.register(name, replace=True)(cls)
        return cls

    return register


def backend_names() -> tuple[str, ...]:
    return tuple(name for name, _ in BACKENDS.items())


def available_backends() -> dict[str, str | None]:
    """name -> None when available, else the reason it is not."""
    return {name: cls.unavailable_reason() for name, cls in BACKENDS.items()}


def get_backend(name: str, policy: Policy, *, pool_size: int | None = None, **kw: Any) -> Sandbox:
    """Instantiate a registered backend (not yet started)."""
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS.names())}")
    return BACKENDS.get(name)(policy, pool_size=pool_size, **kw)


@contextmanager
def started(name: str, policy: Policy, **kw: Any) -> Iterator[Sandbox]:
    sb = get_backend(name, policy, **kw)
    try:
        sb.start()
    except SandboxUnavailableError:
        sb.close()
        raise
    try:
        yield sb
    finally:
        sb.close()
