"""What the adversarial suite looks at from outside the sandbox (never what a job says).

Host processes of a backend (the worker tree; for docker the container's tree), their uid and
namespaces from ``/proc``, host file metadata (mode, owner, times, xattrs), host SysV IPC objects
(``/proc/sysvipc``), and a way to run a job while the test watches the host.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from stopbox.harness.sandbox import ExecResult, Sandbox, Status
from stopbox.harness.sandbox.selfcheck import _host

NAMESPACES = ("user", "mnt", "pid", "ipc", "net", "uts", "cgroup")
T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)


# --- processes --------------------------------------------------------------------------------
def parents() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return out


def descendants(roots: set[int], inclusive: bool = True) -> set[int]:
    table = parents()
    found: set[int] = set(roots) if inclusive else set()
    frontier = set(roots)
    while frontier:
        frontier = {p for p, pp in table.items() if pp in frontier} - found
        found |= frontier
    return {p for p in found if os.path.exists(f"/proc/{p}")}


def container_pids(sandbox: Sandbox) -> set[int]:
    """Host pids of the docker backend's containers (their init), empty for other backends."""
    names = list(getattr(sandbox, "_names", []) or [])
    if not names:
        return set()
    proc = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Pid}}", *names],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return {int(x) for x in proc.stdout.split() if x.isdigit() and int(x) > 0}


def launchers(sandbox: Sandbox) -> set[int]:
    return set(getattr(sandbox, "worker_pids", list)())


def host_tree(sandbox: Sandbox) -> set[int]:
    """Every host process of the sandbox except the launcher CLIs (runsc run, docker run)."""
    roots = launchers(sandbox)
    tree = descendants(roots | container_pids(sandbox))
    if sandbox.name in ("gvisor", "docker"):
        tree -= roots  # the launcher is the harness's own child, not the sandbox
    return tree


def standby(sandbox: Sandbox) -> set[int]:
    """The pre-forked child of each idle worker (pre-fork is the default), as the worker's
    launcher identifies it (its job cgroup): it becomes the next job's processes."""
    pids = getattr(sandbox, "standby_pids", None)
    return set(pids()) if pids else set()


def status_field(pid: int, name: str) -> list[str]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split()[1:]
    return []


def uids(pid: int) -> list[int]:
    return [int(u) for u in status_field(pid, "Uid")]


def namespaces(pid: int | str) -> dict[str, str]:
    out = {}
    for ns in NAMESPACES:
        with contextlib.suppress(OSError):
            out[ns] = os.readlink(f"/proc/{pid}/ns/{ns}")
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:100]
    except OSError:
        return "?"


def run_while(
    sandbox: Sandbox,
    source: str,
    entry: str,
    args: Sequence[Any] = (),
    *,
    observe: Callable[[], T],
    after: float = 0.6,
    timeout: float | None = None,
) -> tuple[ExecResult, T]:
    """Run a job in a thread; ``after`` seconds in, call ``observe()`` on this side."""
    box: dict[str, Any] = {}

    def work() -> None:
        box["result"] = sandbox.exec(source, entry=entry, args=list(args), timeout=timeout)

    t = threading.Thread(target=work)
    t.start()
    time.sleep(after)
    try:
        seen = observe()
    finally:
        t.join(120)
    assert not t.is_alive(), "the job never ended"
    return box["result"], seen


def job_processes(sandbox: Sandbox, source: str, entry: str = "hold") -> tuple[ExecResult, dict]:
    """Host pids that exist only while a job runs, with their uid and namespaces."""
    before = host_tree(sandbox) - standby(sandbox)

    def look() -> dict[int, tuple[list[int], dict[str, str], str]]:
        now = host_tree(sandbox) - before
        out = {}
        for pid in now:
            with contextlib.suppress(OSError):
                out[pid] = (uids(pid), namespaces(pid), cmdline(pid))
        return out

    return run_while(sandbox, source, entry, observe=look, after=0.6)


def worker_namespaces_of_job(sandbox: Sandbox, source: str, entry: str = "hold") -> list[str]:
    """For each host process new during a job: the namespaces it shares with its ancestors that
    existed before the job (the worker), as "pid <pid>: <ns>" lines."""
    before = host_tree(sandbox) - standby(sandbox)

    def look() -> list[str]:
        table = parents()
        shared = []
        new = host_tree(sandbox) - before
        # the job: new processes that start a pid namespace of their own, and what they made
        # (a trusted waiter the worker forks first may share the worker's pid namespace)
        roots = {
            p for p in new if namespaces(p).get("pid") != namespaces(table.get(p, 0)).get("pid")
        }
        job = (descendants(roots) & new) if roots else new
        for pid in job:
            with contextlib.suppress(OSError):
                mine = namespaces(pid)
                anc = table.get(pid, 0)
                while anc > 1:
                    if anc in before:
                        theirs = namespaces(anc)
                        shared += [f"job {pid} and worker {anc}: {n}" for n in ("pid", "mnt", "ipc")
                                   if mine.get(n) and mine.get(n) == theirs.get(n)]  # fmt: skip
                    anc = table.get(anc, 0)
        return shared

    return run_while(sandbox, source, entry, observe=look, after=0.6)[1]


# --- host files ---------------------------------------------------------------------------------
def metadata(path: str | Path) -> tuple[Any, ...]:
    """Everything a metadata attack could change: mode, owner, mtime, ctime, xattrs."""
    st = os.lstat(path)
    xattrs: dict[str, bytes] = {}
    with contextlib.suppress(OSError):
        for name in os.listxattr(path, follow_symlinks=False):
            with contextlib.suppress(OSError):
                xattrs[name] = os.getxattr(path, name, follow_symlinks=False)
    return (oct(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns, xattrs)


def metadata_diff(before: Mapping[str, tuple[Any, ...]]) -> list[str]:
    changed = []
    for path, old in before.items():
        try:
            new = metadata(path)
        except OSError as exc:
            changed.append(f"{path}: gone ({exc.strerror})")
            continue
        if new != old:
            fields = ("mode", "uid", "gid", "mtime", "ctime", "xattrs")
            what = [f"{f} {a!r}->{b!r}" for f, a, b in zip(fields, old, new, strict=True) if a != b]
            changed.append(f"{path}: " + ", ".join(what))
    return changed


# --- host IPC -----------------------------------------------------------------------------------
def sysvipc() -> dict[str, set[tuple[str, str]]]:
    """(key, id) of every SysV shm segment, message queue and semaphore set on the host."""
    return _host.sysvipc()


def new_ipc(before: Mapping[str, set[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """IPC objects that appeared since ``before`` and were not made by another live program
    on this (shared) host."""
    out = {}
    for kind, rows in _host.ipc_rows().items():
        out[kind] = sorted(
            (r["key"], r["id"]) for r in rows
            if (r["key"], r["id"]) not in before[kind]
            and not _host.made_elsewhere(kind, r, os.getuid())
        )  # fmt: skip
    return out


IPC_CREAT, IPC_RMID = 0o1000, 0
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.shmdt.argtypes = [ctypes.c_void_p]
_libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


@contextlib.contextmanager
def host_segment(key: int, data: bytes) -> Iterator[Callable[[], bytes]]:
    """A host SysV shared-memory segment (mode 0666, as careless programs make them) holding
    ``data``; yields a reader of its current contents."""
    shmid = _libc.shmget(key, 4096, IPC_CREAT | 0o666)
    assert shmid >= 0, os.strerror(ctypes.get_errno())
    addr = _libc.shmat(shmid, None, 0)
    assert addr not in (None, ctypes.c_void_p(-1).value)
    ctypes.memmove(addr, data, len(data))
    try:
        yield lambda: ctypes.string_at(addr, len(data))
    finally:
        _libc.shmdt(addr)
        _libc.shmctl(shmid, IPC_RMID, None)


def remove_ipc_created_since(before: Mapping[str, set[tuple[str, str]]]) -> None:
    """Clean up IPC objects a job left on the host (so one escape does not leak into others)."""
    fresh = new_ipc(before)  # never another program's objects
    for kind, cmd in (("shm", _libc.shmctl), ("msg", _libc.msgctl), ("sem", _libc.semctl)):
        for _key, ident in fresh[kind]:
            with contextlib.suppress(Exception):
                if kind == "sem":
                    _libc.semctl(int(ident), 0, IPC_RMID)
                else:
                    cmd(int(ident), IPC_RMID, None)


def host_mqueue_exists(name: str) -> bool:
    """Whether a POSIX message queue ``name`` exists in the host's IPC namespace (removed)."""
    fd = _libc.mq_open(name.encode(), os.O_RDONLY, 0, None)
    if fd < 0:
        return False
    os.close(fd)
    _libc.mq_unlink(name.encode())
    return True


# --- verdicts -----------------------------------------------------------------------------------
def not_silently_ok(result: ExecResult) -> bool:
    """A job that tried something denied may not end ``ok`` with no violation."""
    return not (result.status is Status.OK and not result.violations)


def steady_workers(sandbox: Sandbox) -> set[int]:
    """The worker launchers once the pool is steady (a worker an earlier test broke replaced)."""
    answers(sandbox)
    return launchers(sandbox)


def answers(sandbox: Sandbox) -> bool:
    res = sandbox.exec("def f(x):\n    return x + 1\n", entry="f", args=[41])
    return res.status is Status.OK and res.value == 42
