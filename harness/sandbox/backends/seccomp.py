"""`seccomp` backend (default): the worker is a local subprocess.

The worker moves into fresh user, mount, net, uts, cgroup, ipc and pid namespaces (inside root
mapped to an unprivileged host uid) and pivots into a private read-only root built from the root
filesystem of :mod:`stopbox.harness.sandbox.backends.image.rootfs` (interpreter and allowed
packages only, never the harness); each job gets its own mount, pid and ipc namespaces, a fresh
sized tmpfs workdir, /tmp and /dev/shm, its own cgroup (memory incl. tmpfs pages, no swap, pids;
made, read and removed by the worker's host-side launcher: worker/_cgroup.py), then rlimits,
Landlock and an allow-list seccomp filter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stopbox.harness.errors import SandboxUnavailableError
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox._base import backend
from stopbox.harness.sandbox._pool import WorkerSandbox
from stopbox.harness.sandbox.backends import stale
from stopbox.harness.sandbox.backends._layers import LayeredSandbox
from stopbox.harness.sandbox.backends.image.rootfs import ensure_rootfs
from stopbox.harness.sandbox.worker import _cgroup

__all__ = ["SeccompSandbox"]


@backend("seccomp")
class SeccompSandbox(LayeredSandbox, WorkerSandbox):
    """Warm pool of local workers (``python -I -B _worker.py --isolation=host``)."""

    isolation = "host"

    def __init__(self, policy: Policy, *, pool_size: int | None = None) -> None:
        super().__init__(policy, pool_size=pool_size)
        self._rootfs: Path | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if not sys.platform.startswith("linux"):
            return "the seccomp backend needs Linux (seccomp-bpf, Landlock, namespaces)"
        try:
            import pyseccomp  # noqa: F401
        except (ImportError, OSError) as exc:
            return (
                f"pyseccomp/libseccomp is not usable ({exc}); "
                "apt-get install libseccomp2 and pip install pyseccomp"
            )
        return None

    def remove_stale_state(self) -> None:
        """Worker directories and per-job cgroups of dead owners (by owner pid)."""
        super().remove_stale_state()
        stale.remove_stale_cgroups()

    def standby_pids(self) -> set[int]:
        """Host pids of each idle worker's pre-forked child (at most one job cgroup's processes
        per worker: the newest cgroup its launcher made), for the judges of leftovers."""
        out: set[int] = set()
        for launcher in self.worker_pids():
            out |= _cgroup.standby(os.getpid(), launcher)
        return out

    def close(self) -> None:
        super().close()
        stale.remove_stale_cgroups()  # of a launcher killed before it could remove them

    def prepare_worker_dir(self) -> Path:
        try:
            self._rootfs = ensure_rootfs()
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailableError(
                f"layer private_root: cannot build the sandbox root filesystem: {exc}"
            ) from exc
        return super().prepare_worker_dir()

    def worker_command(self, worker_dir: Path) -> list[str]:
        argv = [sys.executable, "-I", "-B", str(worker_dir / "_worker.py")]
        return argv + self.worker_options(rootfs=self._rootfs)
