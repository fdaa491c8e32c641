"""Where a job's time goes, step by step (worker option ``--profile=1``; bench/sandbox.py).

Standalone (stdlib + _confine).  Off by default: nothing here runs unless the harness asks.
The confinement steps happen in the job's own processes (forked by the zygote), so their
times are taken by wrapping the worker's :mod:`_confine` functions (and ``os.fork``) before the
zygote is forked; the wrappers add into one dict that the job's processes inherit and that
travels to the worker inside the job's ``layers`` event (``profile``).  The worker adds its own
marks (spawn, load, call, result, cleanup) and reports one ``profile`` event per job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import _confine

CHILD_STEPS = {
    "unshare": "namespaces",
    "mount": "mounts",
    "mount_tmpfs_at": "mounts",
    "bind_host_tmp": "mounts",
    "fork": "fork",
    "set_rlimits": "rlimits_caps",
    "drop_capabilities": "rlimits_caps",
    "landlock_restrict": "landlock",
    "bind_pid": "seccomp",
    "load_seccomp": "seccomp",
}
"""Wrapped function -> the step its time is added to (ms)."""


def install(info: dict[str, Any]) -> None:
    """Wrap the confinement functions; their times go to ``info["profile"]``."""
    prof: dict[str, float] = {}
    info["profile"] = prof

    def add(step: str, t: float) -> None:
        end = time.monotonic()
        prof[step] = prof.get(step, 0.0) + (end - t) * 1000
        prof.setdefault("t_first", t)
        prof["t_last"] = end

    def wrap(fn: Callable[..., Any], step: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                add(step, t)

        return timed

    real_fork = os.fork

    def fork() -> int:  # counted on the child's side only (the zygote forks every job)
        t = time.monotonic()
        pid = real_fork()
        if pid == 0:
            add("fork", t)
        return pid

    os.fork = fork
    for name, step in CHILD_STEPS.items():
        if name != "fork" and hasattr(_confine, name):
            setattr(_confine, name, wrap(getattr(_confine, name), step))


class Marks:
    """Monotonic time marks of one job in the worker."""

    def __init__(self) -> None:
        self.t: dict[str, float] = {}
        self.child: dict[str, float] = {}
        self.zygote: dict[str, Any] = {}

    def __call__(self, name: str) -> None:
        self.t.setdefault(name, time.monotonic())

    def layers_event(self, event: dict[str, Any]) -> None:
        prof = event.get("profile")
        if isinstance(prof, dict):
            self.child = {k: float(v) for k, v in prof.items() if isinstance(v, int | float)}
        self("layers")

    def event(self, preforked: bool) -> dict[str, Any]:
        t, ms = self.t, {}

        def span(a: str, b: str) -> float | None:
            return round((t[b] - t[a]) * 1000, 3) if a in t and b in t else None

        ms["spawn"] = span("spawn0", "spawn1")
        ms.update({k: v for k, v in self.zygote.items() if isinstance(v, int | float)})
        child = {k: round(v, 3) for k, v in self.child.items() if not k.startswith("t_")}
        ms.update(child)
        confine = span("spawn1", "layers")
        if confine is not None:
            ms["child_other"] = round(confine - sum(child.values()), 3)
        ms["standby_wait"] = span("job", "load_sent")
        ms["load"] = span("load_sent", "loaded")
        ms["call"] = span("call_sent", "result")
        ms["result_send"] = span("result", "result_sent")
        ms["cleanup"] = span("finish", "closed_sent")
        ms["after_result"] = span("closed_sent", "end")
        ms["worker_total"] = span("job", "closed_sent")
        return {"kind": "sandbox", "event": "profile", "preforked": preforked,
                "ms": {k: v for k, v in ms.items() if v is not None}}  # fmt: skip
