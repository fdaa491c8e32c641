"""Fail closed on confinement layers: what every real backend checks after its workers start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from stopbox.harness.errors import SandboxUnavailableError

__all__ = ["LayeredSandbox", "LAYER_FIXES"]

LAYER_FIXES: dict[str, str] = {
    "userns": "run on a kernel with user namespaces (sysctl user.max_user_namespaces > 0, "
    "kernel.unprivileged_userns_clone=1 when not root)",
    "private_root": "the worker needs a user+mount namespace and the root filesystem "
    "(python -m stopbox.harness.sandbox.backends.image.rootfs --hash)",
    "landlock": "boot a kernel with Landlock enabled (lsm=...,landlock)",
    "seccomp": "apt-get install libseccomp2 and pip install pyseccomp",
    "mountns": "the kernel must allow mount namespaces inside the worker's user namespace",
    "cgroup": "run the harness as root with the cgroup v1 memory and pids controllers mounted, "
    "or in a cgroup v2 subtree delegated to it with memory and pids enabled",
}
"""Layer -> how to make it apply (the error names both)."""


def prefork_enabled(isolation: str = "host") -> bool:
    """Keep one confined child ready per idle worker.  The standby child is forked by the
    worker's zygote before any job data exists; the judges of leftovers know it by its job
    cgroup (``standby_pids``).  ``STOPBOX_SANDBOX_PREFORK=1``/``0`` turns it on/off; the
    default is on for the seccomp backend and off under gVisor (gvisor, docker), where the
    standby's pages stay in the sentry's memory after a job (the sandbox held ~65-69 MB more
    after a tmpfs-parking job than without it: tests/containment test_adv_cross_job)."""
    default = "1" if isolation == "host" else "0"
    return os.environ.get("STOPBOX_SANDBOX_PREFORK", default) != "0"


class LayeredSandbox:
    """Mixin for WorkerSandbox backends: worker options and the fail-closed check at start."""

    isolation: ClassVar[str] = "host"
    policy: Any
    layers: dict[str, Any]

    def allowed_missing(self) -> tuple[str, ...]:
        return tuple(getattr(self.policy.sandbox, "allow_missing_layers", ()) or ())

    def worker_options(self, rootfs: Path | None = None) -> list[str]:
        opts = [f"--isolation={self.isolation}"]
        if prefork_enabled(self.isolation):
            opts.append("--prefork=1")
        if os.environ.get("STOPBOX_SANDBOX_PROFILE") == "1":  # bench/sandbox.py --steps
            opts.append("--profile=1")
        if rootfs is not None:
            opts.append(f"--rootfs={rootfs}")
        allowed = self.allowed_missing()
        if allowed:
            opts.append("--allow-missing=" + ",".join(allowed))
        return opts

    def start(self) -> None:
        super().start()  # type: ignore[misc]
        self.check_layers(self.layers)

    def check_layers(self, layers: dict[str, Any]) -> None:
        """Raise SandboxUnavailableError when a required worker layer is missing."""
        allowed = set(self.allowed_missing())
        missing = [m for m in layers.get("missing") or () if m not in allowed]
        if not missing or "*" in allowed:
            return
        reasons = layers.get("reasons") or {}
        parts = []
        for name in missing:
            fix = LAYER_FIXES.get(name, "see docs/sandbox.md")
            parts.append(f"{name} ({reasons.get(name, 'not applied')}; fix: {fix})")
        self.close()  # type: ignore[attr-defined]
        raise SandboxUnavailableError(
            f"backend {getattr(self, 'name', '?')!r}: confinement layers required by the policy "
            f"could not be applied: {'; '.join(parts)}. A policy may allow a degraded mode "
            "explicitly with sandbox.allow_missing_layers."
        )
