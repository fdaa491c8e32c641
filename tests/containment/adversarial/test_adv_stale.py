"""After ``kill -9`` of a harness, the next start removes that harness's stale state by owner
pid, and never another's.

A child harness starts a backend and is killed with SIGKILL; what it left on the host (worker
directory, gVisor state, docker containers) must be gone once a new sandbox of that backend has
started, while a directory named for a live owner (this test process) stays.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stopbox.harness.sandbox import Sandbox, get_backend

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from conftest import make_test_policy
from stopbox.harness.sandbox import get_backend
sb = get_backend(sys.argv[1], make_test_policy(pool_size=1), pool_size=1)
sb.start()
print("started", flush=True)
time.sleep(120)
"""

PREFIXES = ("stopbox-worker-", "stopbox-runsc-")


def _owned(pid: int) -> list[Path]:
    tmp = Path(tempfile.gettempdir())
    return [p for prefix in PREFIXES for p in tmp.glob(f"{prefix}{pid}-*")]


def _containers(pid: int) -> list[str]:
    proc = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=stopbox.owner={pid}", "--format", "{{.Names}}"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return proc.stdout.split()


def test_stale_state_of_a_killed_harness_is_removed_by_owner(sandbox: Sandbox) -> None:
    tests_dir = str(Path(__file__).resolve().parents[2])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, sandbox.name, tests_dir],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "STOPBOX_CACHE": os.environ.get("STOPBOX_CACHE", "")},
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started", "the child harness did not start"
        assert _owned(child.pid), "the child harness left no state to find"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    dead = child.pid
    mine = Path(tempfile.mkdtemp(prefix=f"stopbox-worker-{os.getpid()}-"))  # a live owner's
    try:
        time.sleep(0.5)  # let the killed harness's workers notice and exit
        fresh = get_backend(sandbox.name, sandbox.policy, pool_size=1)
        fresh.start()
        fresh.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            left = [str(p) for p in _owned(dead)]
            if sandbox.name == "docker":
                left += _containers(dead)
            if not left:
                break
            time.sleep(0.5)
        assert not left, f"stale state of killed harness {dead} survived a new start: {left}"
        assert mine.exists(), "a live owner's directory was removed"
    finally:
        mine.rmdir()


def test_a_live_pool_in_another_pid_namespace_keeps_its_worker_dir() -> None:
    """A sweeper that cannot see the owner's pid (another pid namespace sharing /tmp, as Ray
    nodes under ``unshare --pid``) must not delete a live pool's worker files: the pool holds a
    flock on its directory.  Simulated by a sweep that takes *our own* pid for dead (and every
    other pid for alive, so nobody else's directory is touched)."""
    from stopbox.harness.sandbox.backends.stale import remove_stale_worker_dirs
    from tests.conftest import make_test_policy, require_backend

    require_backend("seccomp")
    sb = get_backend("seccomp", make_test_policy(pool_size=1), pool_size=1)
    sb.start()
    try:
        workdir = sb._dir  # type: ignore[attr-defined]
        assert workdir is not None
        removed = remove_stale_worker_dirs(alive=lambda pid: pid != os.getpid())
        assert str(workdir) not in removed and workdir.exists()
        assert sb.exec("def f():\n    return 7\n", entry="f").value == 7
    finally:
        sb.close()
    orphan = Path(tempfile.mkdtemp(prefix=f"stopbox-worker-{os.getpid()}-"))  # nobody holds it
    assert str(orphan) in remove_stale_worker_dirs(alive=lambda pid: pid != os.getpid())
    assert not orphan.exists()
