"""Isolation checked from outside the job (issue 9): host uid, namespaces, host file metadata,
nothing of one job visible to the next, the harness package absent, layers reported.

On seccomp the host sees the job process itself, so uid and namespaces are read from
/proc/<pid>/status and /proc/<pid>/ns/*; under gVisor (gvisor, docker) the host sees only the
sandbox, so those checks run against a second job and against the host's view of files.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import pytest

from stopbox.harness.errors import SandboxUnavailableError
from stopbox.harness.sandbox import Sandbox, Status, started

NAMESPACES = ("user", "net", "uts", "ipc", "mnt", "pid", "cgroup")


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def test_layers_are_reported_and_none_is_missing(sandbox: Sandbox) -> None:
    res = sandbox.exec("def f():\n    return 1\n", entry="f")
    assert res.ok, res.error
    layers = res.to_json()["layers"]
    assert layers["missing"] == []
    for name in ("mountns", "pidns", "ipcns", "tmpfs_workdir", "private_tmp", "private_shm",
                 "private_proc", "unprivileged_uid", "seccomp", "rlimits"):  # fmt: skip
        assert name in layers["applied"], name


def test_job_is_never_host_root_and_has_its_own_namespaces(sandbox: Sandbox) -> None:
    src = (
        "import os, time\ndef f():\n    time.sleep(2.0)\n"
        "    return [os.getuid(), os.getpid(), os.getppid()]\n"
    )
    seen: list[dict[str, object]] = []
    job = sandbox.job(src)
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 2.5
        while not done.is_set() and time.monotonic() < deadline:
            for pid in _descendants(os.getpid()):
                try:
                    status = _status(pid)
                    if len(status.get("NSpid", "").split()) >= 3:  # host, worker, job
                        ns = {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in NAMESPACES}
                        seen.append({"pid": pid, "uid": status["Uid"], "ns": ns})
                except OSError:
                    continue
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    res = job.call("f", timeout=10)
    done.set()
    watcher.join()
    job.close()
    assert res.ok, res.error
    uid, pid, ppid = res.value
    assert pid == 1 and ppid == 0  # pid 1 of its own pid namespace: no parent to see
    if sandbox.name != "seccomp":
        assert uid == 65534  # under gVisor the job drops to nobody inside
        return
    assert seen, "the job process was never seen from outside"
    mine = {n: os.readlink(f"/proc/self/ns/{n}") for n in NAMESPACES}
    for proc in seen:
        assert "0" not in str(proc["uid"]).split(), proc  # real, effective, saved, fs: never 0
        ns = proc["ns"]
        assert isinstance(ns, dict)
        for name in NAMESPACES:
            assert ns[name] != mine[name], (name, proc)


def test_no_process_of_the_seccomp_worker_is_host_root() -> None:
    """Only the launcher (outside every namespace, it only waits) may keep the harness's uid.
    (Under gVisor the host sees only runsc's own processes: see the job uid checks above.)"""
    from tests.conftest import make_test_policy, require_backend

    backend_name = "seccomp"
    require_backend(backend_name)
    with started(backend_name, make_test_policy(pool_size=1), pool_size=1) as sb:
        assert sb.exec("def f():\n    return 1\n", entry="f").ok
        (launcher,) = sb.worker_pids()
        inner = _descendants(launcher)
        assert inner
        checked = 0
        for pid in inner:
            try:  # the last job's processes may be going away (reaped after its result)
                uids = _status(pid)["Uid"].split()
            except FileNotFoundError:
                continue
            checked += 1
            assert "0" not in uids, pid
        assert checked >= 4, "fewer live worker processes than waiter, worker and two zygotes"


def test_host_file_metadata_cannot_change(backend_name: str, tmp_path: Path) -> None:
    """chmod, chown, utime, xattrs on host files (visible read-only, or not at all) fail and
    change nothing, on a canary and on the harness's own worker files."""
    from tests.conftest import make_test_policy, require_backend

    require_backend(backend_name)
    canary = tmp_path / "canary.txt"
    canary.write_text("canary")
    os.chmod(canary, 0o644)
    base = make_test_policy(pool_size=1)
    policy = dataclasses.replace(base, paths=dataclasses.replace(base.paths, read=(str(tmp_path),)))
    src = (
        "import os, sys\n"
        "def f(paths):\n"
        "    done = []\n"
        "    for p in paths:\n"
        "        for what, fn in (('chmod', lambda: os.chmod(p, 0o4777)),\n"
        "                         ('chown', lambda: os.chown(p, 0, 0)),\n"
        "                         ('utime', lambda: os.utime(p, (0, 0))),\n"
        "                         ('xattr', lambda: os.setxattr(p, 'user.x', b'1'))):\n"
        "            try:\n                fn()\n                done.append((what, p))\n"
        "            except OSError:\n                pass\n"
        "    return done\n"
    )
    with started(backend_name, policy, pool_size=1) as sb:
        worker_dir = getattr(sb, "_dir", None)
        assert worker_dir is not None
        targets = [canary, *sorted(Path(worker_dir).iterdir())]
        before = {p: os.stat(p) for p in targets}
        paths = [str(p) for p in targets] + [
            "/opt/stopbox/worker/_worker.py",
            "/usr",
            "/etc/passwd",
        ]
        res = sb.exec(src, entry="f", args=[paths])
        assert res.status in (Status.OK, Status.VIOLATION), res.error
        assert res.value in (None, []), res.value
        for p, st in before.items():
            now = os.stat(p)
            assert (now.st_mode, now.st_uid, now.st_gid, now.st_mtime_ns) == (
                st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns), p  # fmt: skip
            assert os.listxattr(p) == [], p


def test_nothing_of_a_job_survives_into_the_next(backend_name: str) -> None:
    """Two jobs back to back on one warm worker: files in the workdir, /tmp and /dev/shm and
    POSIX shared memory of the first are gone for the second."""
    from tests.conftest import make_test_policy, require_backend

    require_backend(backend_name)
    first = (
        "import os\n"
        "import _posixshmem\n"
        "def f():\n"
        "    made = []\n"
        "    for d in ('.', '/tmp', '/dev/shm'):\n"
        "        try:\n"
        "            with open(os.path.join(d, 'left-over'), 'w') as fh:\n"
        "                fh.write('x' * 1000)\n"
        "            made.append(d)\n"
        "        except OSError:\n            pass\n"
        "    fd = _posixshmem.shm_open('/stopbox-leftover', os.O_CREAT | os.O_RDWR, 0o600)\n"
        "    os.ftruncate(fd, 4096)\n"
        "    made.append('shm')\n"
        "    return made\n"
    )
    second = (
        "import os\n"
        "def f():\n"
        "    found = []\n"
        "    for d in ('.', '/tmp', '/dev/shm'):\n"
        "        try:\n            found += [os.path.join(d, n) for n in os.listdir(d)]\n"
        "        except OSError:\n            pass\n"
        "    return [p for p in found if 'left' in p]\n"
    )
    with started(backend_name, make_test_policy(pool_size=1), pool_size=1) as sb:
        made = sb.exec(first, entry="f")
        assert made.ok, made.error
        assert "." in made.value and "/tmp" in made.value  # the job may use them ...
        later = sb.exec(second, entry="f")
        assert later.ok, later.error
        assert later.value == []  # ... and nothing of it is left for the next job


def test_the_harness_package_is_not_inside_the_job(sandbox: Sandbox) -> None:
    import stopbox.harness
    import stopbox.seeds

    paths = [
        str(Path(stopbox.harness.__file__).parent),
        str(Path(stopbox.seeds.__file__).parent),
        str(Path(stopbox.seeds.__file__).parent / "tasks"),
    ]
    src = (
        "import os, importlib\n"
        "def f(paths):\n"
        "    seen = [p for p in paths if os.path.exists(p)]\n"
        "    for name in ('stopbox', 'stopbox.seeds', 'harness', 'seeds'):\n"
        "        try:\n            importlib.import_module(name)\n            seen.append(name)\n"
        "        except Exception:\n            pass\n"
        "    return seen\n"
    )
    res = sandbox.exec(src, entry="f", args=[paths])
    assert res.value == [], res.error


def test_fcntl_cannot_make_the_worker_a_signal_target(sandbox: Sandbox) -> None:
    src = (
        "import fcntl, os\n"
        "def f():\n"
        "    r, w = os.pipe()\n"
        "    out = []\n"
        "    for cmd in (fcntl.F_SETOWN, 10, 1024):  # F_SETOWN, F_SETSIG, F_SETLEASE\n"
        "        try:\n            fcntl.fcntl(r, cmd, 1)\n            out.append(cmd)\n"
        "        except OSError:\n            pass\n"
        "    fcntl.fcntl(r, fcntl.F_GETFL)  # ordinary commands still work\n"
        "    return out\n"
    )
    res = sandbox.exec(src, entry="f")
    # each denial is seen outside the job (monitor: violation; under gVisor: SIGSYS)
    assert res.status is Status.VIOLATION and res.violations, res.error
    assert res.value in ([], None)


def test_a_required_layer_that_cannot_apply_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fail closed: without its root filesystem the seccomp worker cannot build the private
    root; the backend refuses, naming the layer, unless the policy allows a degraded mode."""
    from stopbox.harness.sandbox.backends import seccomp
    from tests.conftest import make_test_policy, require_backend

    require_backend("seccomp")
    monkeypatch.setattr(seccomp, "ensure_rootfs", lambda: Path("/nonexistent-rootfs"))
    with pytest.raises(SandboxUnavailableError, match="private_root"):
        with started("seccomp", make_test_policy(pool_size=1), pool_size=1):
            pass
    degraded = make_test_policy(pool_size=1, allow_missing_layers=("*",))
    with started("seccomp", degraded, pool_size=1) as sb:
        res = sb.exec("def f():\n    return 3\n", entry="f")
        assert res.value == 3, res.error
        assert "private_root" in res.layers["missing"]
