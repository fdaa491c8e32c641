"""Per-job resources, checked from outside the job: the cgroup layer of the seccomp backend
(memory incl. tmpfs pages, pids, removal, stale cleanup after kill -9) and pre-forked jobs that
carry nothing of the job before them (every backend)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import make_test_policy, require_backend, required_backends

from stopbox.harness.sandbox import get_backend
from stopbox.harness.sandbox._base import Status
from stopbox.harness.sandbox.worker import _cgroup

PARK = textwrap.dedent(
    """
    def park(mb, where):
        block = b'x' * (1 << 20)
        for i in range(mb):  # files of 32 MB: the per-file size limit is not what stops this
            with open(where + '/park%d' % (i // 32), 'ab') as fh:
                fh.write(block)
        return mb
    """
)


def _need_cgroups() -> None:
    """The cgroup layer needs root and a memory+pids hierarchy; required with seccomp in CI."""
    require_backend("seccomp")
    version, _, why = _cgroup.parents()
    reason = why if not version else None if os.geteuid() == 0 else "not root"
    if reason is None:
        return
    if "seccomp" in required_backends():
        pytest.fail(f"the seccomp backend's cgroup layer is required but: {reason}")
    pytest.skip(f"no cgroup layer here: {reason}")


def _job_cgroups(owner: int) -> list[str]:
    version, dirs, _ = _cgroup.parents()
    out = []
    for parent in dirs.values():
        out += [os.path.join(parent, n) for n in os.listdir(parent)
                if (_cgroup.parse_name(n) or (0,))[0] == owner]  # fmt: skip
    return sorted(out)


def _snapshot(d: str) -> dict[str, str]:
    files = {}
    for name in ("cgroup.procs", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                 "memory.max", "pids.max"):  # fmt: skip
        try:
            files[name] = Path(d, name).read_text().strip()
        except OSError:
            pass
    uids = []
    for pid in files.get("cgroup.procs", "").split():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        uids += [line.split()[1] for line in status.splitlines() if line.startswith("Uid:")]
    files["uids"] = " ".join(uids)
    return files


def _wait_gone(owner: int, launchers: set[int] | None = None, seconds: float = 5.0) -> list[str]:
    """Job cgroups of ``owner`` (of these launchers only, when given) still there after a wait."""

    def left() -> list[str]:
        return [d for d in _job_cgroups(owner) if launchers is None
                or (_cgroup.parse_name(os.path.basename(d)) or (0, 0))[1] in launchers]  # fmt: skip

    deadline = time.monotonic() + seconds
    while (still := left()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return still


@pytest.mark.parametrize("where", ["/dev/shm", "/tmp", "."])
def test_memory_parked_in_tmpfs_beyond_the_limit_ends_memory(where: str) -> None:
    """256 MB per job, 512 MB tmpfs mounts (file_size_mb=128): without a memory cgroup covering
    tmpfs pages the job could park 400 MB (RLIMIT_AS does not count them) and end ok."""
    _need_cgroups()
    policy = make_test_policy(memory_mb=256, file_size_mb=128, pool_size=1)
    with get_backend("seccomp", policy, pool_size=1) as sb:
        assert "cgroup" in sb.layers["applied"], sb.layers
        small = sb.exec(PARK, entry="park", args=[64, where], timeout=20)
        assert small.ok and small.value == 64, small.error  # under the limit: fine
        res = sb.exec(PARK, entry="park", args=[400, where], timeout=20)
        assert res.status is Status.MEMORY, (res.status, res.error)
        assert any(v.get("kind") == "memory" for v in res.violations), res.violations
        again = sb.exec(PARK, entry="park", args=[64, where], timeout=20)
        assert again.ok, again.error  # the next job on the same worker has its whole limit


def _worker_cgroups(sb: Any) -> list[str]:
    """The job cgroups of this sandbox's workers (by owner pid and launcher pid)."""
    launchers = set(sb.worker_pids())
    return [d for d in _job_cgroups(os.getpid())
            if (_cgroup.parse_name(os.path.basename(d)) or (0, 0))[1] in launchers]  # fmt: skip


def test_job_cgroup_limits_and_membership_seen_from_outside() -> None:
    """While a job runs, its processes are in a cgroup of this harness's worker with the
    policy's limits, as the unprivileged host uid; after it, nothing of it is left there (an
    idle worker's cgroups hold its two zygotes and one pre-forked child)."""
    _need_cgroups()
    policy = make_test_policy(memory_mb=300, processes=4, pool_size=1)
    src = "import os, time\ndef f():\n    time.sleep(1.5)\n    return os.getpid()\n"
    limit = str((300 + _cgroup.SLACK_MB) << 20)
    with get_backend("seccomp", policy, pool_size=1) as sb:
        sb.start()
        launchers = set(sb.worker_pids())
        box: dict[str, Any] = {}
        th = threading.Thread(target=lambda: box.update(res=sb.exec(src, entry="f")))
        th.start()
        time.sleep(0.8)
        seen = {d: _snapshot(d) for d in _worker_cgroups(sb)}  # while the job runs
        th.join()
        assert box["res"].ok, box["res"].error
        info = sb.layers["cgroup"]
        assert info["memory_mb"] == 300 + _cgroup.SLACK_MB
        assert info["pids"] == 4 + _cgroup.EXTRA_PIDS
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            idle = {os.path.basename(d): _cgroup.procs(d) for d in _worker_cgroups(sb)}
            standby = sb.standby_pids()
            if sum(map(len, idle.values())) == 2 + len(standby) and len(standby) == 2:
                break
            time.sleep(0.05)
    assert seen, "no job cgroup named with this harness's pid while a job ran"
    members: set[int] = set()
    for files in seen.values():
        members |= set(map(int, files.get("cgroup.procs", "").split()))
        for name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max"):
            assert files.get(name, limit) == limit, (name, files)
        assert files.get("pids.max", str(4 + _cgroup.EXTRA_PIDS)) == str(4 + _cgroup.EXTRA_PIDS)
    assert any("memory.limit_in_bytes" in f or "memory.max" in f for f in seen.values()), seen
    assert any("pids.max" in f for f in seen.values()), seen
    assert len(members) >= 4, f"the job's processes were not in a job cgroup: {seen}"
    for uids in (f.get("uids", "") for f in seen.values()):
        assert "0" not in uids.split(), "a process of a job cgroup ran as host root"
    # idle: two zygotes plus exactly one pre-forked child (its reaper and pid 1), nothing else
    assert len(idle) == 2 and len(standby) == 2, (idle, standby)
    assert sum(map(len, idle.values())) == 2 + len(standby), (idle, standby)
    assert _wait_gone(os.getpid(), launchers) == [], "job cgroups left after the sandbox closed"


def test_pids_limit_of_a_job_cgroup_holds() -> None:
    """The layer itself: a process moved into a job cgroup (processes=3: pids.max 3 +
    EXTRA_PIDS) cannot have more tasks, threads included (the sandbox's seccomp filter denies
    fork, so the cgroup is tried directly here)."""
    _need_cgroups()
    mgr = _cgroup.JobCgroups(os.getpid(), {"memory_mb": 256, "processes": 3})
    code = textwrap.dedent(
        """
        import sys, threading, time
        sys.stdin.readline()
        started = 0
        ev = threading.Event()
        for _ in range(20):
            try:
                threading.Thread(target=ev.wait, daemon=True).start()
                started += 1
            except RuntimeError:
                break
        print(started, flush=True)
        ev.set()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        dirs = mgr.create(7)
        mgr.join(7, proc.pid)
        assert all(proc.pid in _cgroup.procs(d) for d in dirs)
        out, _ = proc.communicate("go\n", timeout=60)
    finally:
        proc.kill()
        proc.wait()
        mgr.remove_all()
    most = 3 + _cgroup.EXTRA_PIDS
    assert int(out) == most - 1, f"{out!r} threads started besides the main one (pids.max {most})"
    assert not any(os.path.exists(d) for d in dirs)


HARNESS = textwrap.dedent(
    """
    import sys, time
    from stopbox.harness.policy import default_policy
    from stopbox.harness.sandbox import get_backend
    sb = get_backend("seccomp", default_policy(), pool_size=2)
    sb.start()
    assert sb.exec("def f():\\n    return 3\\n", entry="f").value == 3
    print(" ".join(map(str, sb.worker_pids())), flush=True)
    time.sleep(120)
    """
)


def test_job_cgroups_of_a_killed_harness_are_removed_at_the_next_start() -> None:
    """kill -9 of a harness and of its worker launchers (so nothing of it can clean up): its
    job cgroups (standby children's) stay; the next start removes them, by owner pid."""
    _need_cgroups()
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-c", HARNESS], stdout=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        launchers = [int(p) for p in line.split()]
        assert launchers, "the child harness did not start"
        time.sleep(0.3)
        assert _job_cgroups(proc.pid), "no job cgroups of the child harness (pre-forked)"
        for pid in [proc.pid, *launchers]:
            os.kill(pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while any(_cgroup.procs(d) for d in _job_cgroups(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)  # its jobs die with their launchers (parent-death signals)
    left = _job_cgroups(proc.pid)
    assert left, "nothing was left to clean up: the test did not test the stale path"
    with get_backend("seccomp", make_test_policy(pool_size=1), pool_size=1) as sb:
        sb.start()
        assert _job_cgroups(proc.pid) == [], "stale job cgroups of a dead harness were kept"
        deadline = time.monotonic() + 5
        while not _job_cgroups(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.02)  # the new worker's standby child (pre-forked after `ready`)
        assert _job_cgroups(os.getpid()), "this harness's own job cgroups were removed"


CARRY_A = textwrap.dedent(
    """
    import os, sys, _posixshmem
    def f():
        for d in ('.', '/tmp', '/dev/shm'):
            with open(os.path.join(d, 'carried'), 'w') as fh:
                fh.write('A')
        fd = _posixshmem.shm_open('/stopbox-carried', os.O_CREAT | os.O_RDWR, 0o600)
        os.ftruncate(fd, 4096)
        os.environ['STOPBOX_CARRIED'] = 'A'
        os.mkdir('sub')
        os.chdir('sub')
        sys.modules['os'].carried = 'A'
        return os.getcwd()
    """
)
CARRY_B = textwrap.dedent(
    """
    import os
    def f():
        seen = []
        for d in ('.', '/tmp', '/dev/shm'):
            if os.path.exists(os.path.join(d, 'carried')):
                seen.append(d)
        try:
            import _posixshmem
            _posixshmem.shm_open('/stopbox-carried', os.O_RDWR, 0o600)
            seen.append('posix shm')
        except OSError:
            pass
        if 'STOPBOX_CARRIED' in os.environ:
            seen.append('env')
        if hasattr(os, 'carried'):
            seen.append('module state')
        return {'seen': seen, 'cwd': os.getcwd()}
    """
)


def test_a_preforked_job_sees_nothing_of_the_job_before(
    backend_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pre-fork (the default on seccomp; asked for here on every backend): the next job's child
    is made from a zygote before the job data exists.  Job B on the same worker sees nothing of
    job A."""
    require_backend(backend_name)
    monkeypatch.setenv("STOPBOX_SANDBOX_PREFORK", "1")
    with get_backend(backend_name, make_test_policy(pool_size=1), pool_size=1) as sb:
        a = sb.exec(CARRY_A, entry="f")
        assert a.ok, a.error
        if backend_name == "seccomp" and "cgroup" in sb.layers.get("applied", ()):
            deadline = time.monotonic() + 5
            while not sb.standby_pids() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert sb.standby_pids(), "no pre-forked child after the job"
        b = sb.exec(CARRY_B, entry="f")
        assert b.ok, b.error
        assert b.value["seen"] == [], b.value
        assert b.value["cwd"] != a.value and not b.value["cwd"].endswith("/sub"), b.value
