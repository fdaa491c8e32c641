"""Remove what a harness killed with SIGKILL left behind, by owner pid, never another's.

What a live job holds is in private namespaces (mounts, tmpfs workdirs, /tmp, /dev/shm, IPC
objects, processes in the job's pid namespace) and vanishes with its processes; what can outlive
a killed harness on the host is named after the harness's pid:

* worker directories ``$TMPDIR/stopbox-worker-<pid>-*`` (and legacy ``stopbox-jobs-<pid>-*``);
* gVisor state ``$TMPDIR/stopbox-runsc-<pid>-*`` with its containers (``runsc delete --force``);
* docker containers labelled ``stopbox.owner=<pid>``;
* per-job cgroups ``stopbox-<pid>-<launcher pid>-<n>-ns<pid ns>`` under the harness's own
  cgroup (seccomp backend), removed when empty (:func:`remove_stale_cgroups`).

``remove_stale_state()`` is what a pool calls when it starts (team sandbox-host calls it from
``_pool.py``); each part is also callable on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from stopbox.harness.sandbox._pool import dir_in_use

__all__ = [
    "pid_alive",
    "remove_stale_cgroups",
    "remove_stale_state",
    "remove_stale_worker_dirs",
    "remove_stale_runsc",
]


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(name: str, prefix: str) -> int | None:
    head = name[len(prefix) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def remove_stale_worker_dirs(
    tmp: Path | None = None, alive: Callable[[int], bool] = pid_alive
) -> list[str]:
    tmp = tmp or Path(tempfile.gettempdir())
    removed = []
    for prefix in ("stopbox-worker-", "stopbox-jobs-"):
        for path in tmp.glob(prefix + "*"):
            owner = _owner(path.name, prefix)
            if owner is None or alive(owner) or path.is_symlink() or dir_in_use(path):
                continue
            if prefix == "stopbox-jobs-":
                try:
                    path.rmdir()  # only ever an empty mount point on this side
                except OSError:
                    continue
            else:
                shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


def remove_stale_runsc(
    tmp: Path | None = None, alive: Callable[[int], bool] = pid_alive, runsc: str | None = None
) -> list[str]:
    tmp = tmp or Path(tempfile.gettempdir())
    runsc = runsc or os.environ.get("STOPBOX_RUNSC") or shutil.which("runsc")
    removed = []
    for state in tmp.glob("stopbox-runsc-*"):
        owner = _owner(state.name, "stopbox-runsc-")
        if owner is None or alive(owner) or state.is_symlink():
            continue
        root = state / "runsc"
        if runsc and root.is_dir():
            try:
                ids = subprocess.run(
                    [runsc, f"--root={root}", "list", "--quiet"],
                    capture_output=True, text=True, check=False, timeout=30,
                ).stdout.split()  # fmt: skip
                for cid in ids:
                    subprocess.run(
                        [runsc, f"--root={root}", "delete", "--force", cid],
                        capture_output=True, check=False, timeout=30,
                    )  # fmt: skip
            except (OSError, subprocess.SubprocessError):
                pass
        shutil.rmtree(state, ignore_errors=True)
        removed.append(str(state))
    return removed


def remove_stale_cgroups(alive: Callable[[int], bool] = pid_alive) -> list[str]:
    """Job cgroups of a dead owner (or of this harness's dead launchers), when empty."""
    from stopbox.harness.sandbox.worker import _cgroup

    try:
        return _cgroup.remove_stale(alive)
    except OSError:
        return []


def remove_stale_state(
    alive: Callable[[int], bool] = pid_alive, *, docker: bool = False
) -> list[str]:
    """Everything stale this module knows about (docker only when asked: it may be slow)."""
    removed = remove_stale_worker_dirs(alive=alive) + remove_stale_runsc(alive=alive)
    removed += remove_stale_cgroups(alive)
    if docker and shutil.which("docker"):
        from stopbox.harness.sandbox.backends.docker import remove_stale_containers

        try:
            removed += [f"container {n}" for n in remove_stale_containers()]
        except (OSError, subprocess.SubprocessError):
            pass
    return removed
