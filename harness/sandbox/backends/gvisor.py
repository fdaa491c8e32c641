"""`gvisor` backend: the same worker, started under gVisor's ``runsc run`` in an OCI bundle.

Each worker is one gVisor sandbox (its own user-space kernel, ``--network=none``) whose root is the
read-only root filesystem of :mod:`stopbox.harness.sandbox.backends.image.rootfs` (the
interpreter, numpy, pyseccomp, shared libraries; nothing else of the host), with a private
tmpfs at ``SCRATCH`` (not ``/tmp``, which may hold the checkout) and the worker files bind-mounted
read-only at ``/opt/stopbox/worker``. Start-up (about half a second with numpy) is paid once
per worker; jobs
fork inside the sandbox. Inside, the worker applies what gVisor supports of its own layers
(rlimits, seccomp filters, namespaces, the uid drop; Landlock is not implemented by gVisor) and
reports them in ``layers``; gVisor is the boundary.

State (``runsc --root``) and the bundle live in a private directory per sandbox, removed on
close; containers are deleted on close and die with their launcher if the harness crashes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from stopbox.harness.errors import SandboxUnavailableError
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox._base import backend
from stopbox.harness.sandbox._pool import WorkerSandbox
from stopbox.harness.sandbox.backends._layers import LayeredSandbox
from stopbox.harness.sandbox.backends.image.rootfs import SCRATCH, ensure_rootfs

__all__ = ["GvisorSandbox", "runsc_path", "runsc_flags", "oci_config", "WORKER_MOUNT"]

WORKER_MOUNT = "/opt/stopbox/worker"
"""Where the worker files appear inside the sandbox (gvisor and docker)."""
STATE_PREFIX = "stopbox-runsc-"


def sentry_pids_limit(processes: int) -> int:
    """The pids cgroup limit of one gVisor sandbox (runsc or docker --runtime=runsc).

    It bounds the sentry's host threads and the ptrace platform's stub processes, not the job's
    processes (those are bounded inside gVisor by RLIMIT_NPROC, the job's pid namespace and the
    seccomp filter).  runsc 20221219 *panics* when it cannot create a stub ("error initializing
    first thread: resource temporarily unavailable", Go exit status 2), so a limit that is hit
    kills the whole worker: measured here, two busy workers reach 125 host pids each (the old
    limit was 128 -- the docker backend's "worker exited (no stderr)" flake).  Four times that."""
    return max(512, processes * 16 + 384)


def runsc_path() -> str | None:
    return os.environ.get("STOPBOX_RUNSC") or shutil.which("runsc")


def runsc_flags() -> list[str]:
    """Global runsc flags: no network, and extra flags from ``$STOPBOX_RUNSC_FLAGS``."""
    extra = os.environ.get("STOPBOX_RUNSC_FLAGS", "").split()
    return ["--network=none", *extra]


def oci_config(
    rootfs: Path, worker_dir: Path, argv: list[str], policy: Policy, *, tmp_mb: int
) -> dict[str, Any]:
    """The OCI runtime spec of one worker sandbox."""
    memory = worker_memory_mb(policy) * 1024 * 1024
    return {
        "ociVersion": "1.0.0",
        "process": _oci_process(argv, policy),
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "stopbox",
        "mounts": _oci_mounts(worker_dir, tmp_mb),
        "linux": {
            "namespaces": [
                {"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")
            ],
            "resources": {
                # the job's RLIMIT_AS plus its sized tmpfs mounts (workdir, /tmp, /dev/shm) fit
                "memory": {"limit": memory, "swap": memory},
                # the gVisor sentry's own host threads count too (see sentry_pids_limit)
                "pids": {"limit": sentry_pids_limit(policy.sandbox.processes)},
            },
        },
    }


def _oci_process(argv: list[str], policy: Policy) -> dict[str, Any]:
    """The worker process: root of gVisor's kernel only, scrubbed env, few rlimits."""
    nofile = max(256, policy.sandbox.open_files * 4)
    return {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": argv,
        "env": [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "LANG=C.UTF-8",
            f"HOME={SCRATCH}",
            f"TMPDIR={SCRATCH}",
        ],
        "cwd": SCRATCH,
        "capabilities": {
            # Root inside gVisor's own kernel: enough for the worker to drop to nobody and
            # enter its namespaces; none of it reaches the host kernel.
            key: ["CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN", "CAP_KILL"]
            for key in ("bounding", "effective", "permitted")
        },
        "rlimits": [
            {"type": "RLIMIT_NOFILE", "hard": nofile, "soft": nofile},
            {"type": "RLIMIT_CORE", "hard": 0, "soft": 0},
        ],
        "noNewPrivileges": True,
    }


def _oci_mounts(worker_dir: Path, tmp_mb: int) -> list[dict[str, Any]]:
    """/proc, a tiny /dev, the worker's sized scratch tmpfs and its files (read-only)."""
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=64k"],
        },
        {
            "destination": SCRATCH,
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777", f"size={tmp_mb}m"],
        },
        {
            "destination": WORKER_MOUNT,
            "type": "bind",
            "source": str(worker_dir),
            "options": ["rbind", "ro"],
        },
    ]


def worker_memory_mb(policy: Policy) -> int:
    """Memory limit of one worker sandbox/container: the worker, one job at its RLIMIT_AS and
    the job's three sized tmpfs mounts (tmpfs pages are charged to the sandbox)."""
    tmpfs_mb = 3 * max(16, 4 * policy.sandbox.file_size_mb)
    return policy.sandbox.memory_mb + tmpfs_mb + 256


def _sweep_stale_state() -> None:
    """Remove state directories left by harness processes that no longer exist."""
    tmp = Path(tempfile.gettempdir())
    for d in tmp.glob(STATE_PREFIX + "*"):
        try:
            pid = int(d.name[len(STATE_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(d, ignore_errors=True)


@backend("gvisor")
class GvisorSandbox(LayeredSandbox, WorkerSandbox):
    """Warm pool of workers, each in its own gVisor sandbox (``runsc run``, network none)."""

    isolation = "gvisor"

    def __init__(self, policy: Policy, *, pool_size: int | None = None) -> None:
        super().__init__(policy, pool_size=pool_size)
        self._state: Path | None = None
        self._rootfs: Path | None = None
        self._ids: list[str] = []

    @classmethod
    def unavailable_reason(cls) -> str | None:
        runsc = runsc_path()
        if runsc is None:
            return "runsc not found: apt-get install runsc (or run `make setup-backends`)"
        if os.geteuid() != 0:
            return f"{runsc} needs root to start sandboxes here; run as root"
        return None

    def prepare_worker_dir(self) -> Path:
        worker_dir = super().prepare_worker_dir()
        _sweep_stale_state()
        self._state = Path(tempfile.mkdtemp(prefix=f"{STATE_PREFIX}{os.getpid()}-"))
        try:
            self._rootfs = ensure_rootfs()
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailableError(
                f"cannot build the sandbox root filesystem: {exc}"
            ) from exc
        return worker_dir

    def worker_command(self, worker_dir: Path) -> list[str]:
        assert self._state is not None and self._rootfs is not None
        cid = f"stopbox-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        bundle = self._state / "bundles" / cid
        bundle.mkdir(parents=True)
        argv = [sys.executable, "-I", f"{WORKER_MOUNT}/_worker.py", *self.worker_options()]
        tmp_mb = max(64, self.policy.sandbox.file_size_mb * 4 + 32)
        spec = oci_config(self._rootfs, worker_dir, argv, self.policy, tmp_mb=tmp_mb)
        (bundle / "config.json").write_text(json.dumps(spec, indent=1))
        self._ids.append(cid)
        runsc = runsc_path() or "runsc"
        return [
            runsc,
            f"--root={self._state / 'runsc'}",
            *runsc_flags(),
            "run",
            f"--bundle={bundle}",
            cid,
        ]

    def worker_start_timeout(self) -> float:
        return 60.0

    def close(self) -> None:
        super().close()
        state, self._state = self._state, None
        if state is None:
            return
        runsc = runsc_path()
        if runsc is not None and (state / "runsc").exists():
            for cid in self._ids:
                subprocess.run(
                    [runsc, f"--root={state / 'runsc'}", "delete", "--force", cid],
                    capture_output=True,
                    check=False,
                    timeout=30,
                )
        self._ids.clear()
        shutil.rmtree(state, ignore_errors=True)
