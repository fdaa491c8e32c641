"""Jobs must not leak into each other: two jobs back to back on one warm worker.

The pool hands the most recently released worker to the next job (LIFO), so two sequential
``exec`` calls run on the same warm worker.  Job A plants a token everywhere it can write
(workdir, its parent, ``$TMPDIR``, ``/tmp``, ``/dev/shm``, ``$HOME``, the scratch directory, SysV
IPC with a fixed key, a POSIX queue) and fills what it can; job B looks for the token and needs
its own scratch space.  Memory parked in tmpfs is measured on the host (``Shmem`` in
``/proc/meminfo``: tmpfs, SysV shm and gVisor's memory file all count there).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from pathlib import Path
from typing import Any

from _outside import answers, host_tree, remove_ipc_created_since, run_while, status_field, sysvipc

from stopbox.harness.sandbox import Sandbox, Status

PLACES = (
    "import os, tempfile\n"
    "def places():\n"
    "    cwd = os.getcwd()\n"
    "    env = os.environ\n"
    "    out = [cwd, os.path.dirname(cwd), env.get('TMPDIR', ''), env.get('HOME', ''),\n"
    "           tempfile.gettempdir(), '/tmp', '/dev/shm', '/var/tmp', '/.stopbox-scratch',\n"
    "           os.path.dirname(os.path.dirname(cwd))]\n"
    "    return [p for p in dict.fromkeys(out) if p]\n"
)

PLANT = (
    PLACES
    + r"""
import ctypes

def plant(token, key, fill_mb):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    done = []
    for d in places():
        for name in (token, "." + token):
            try:
                with open(os.path.join(d, name), "w") as f:
                    f.write(token)
                done.append(os.path.join(d, name))
            except OSError:
                pass
        try:
            os.makedirs(os.path.join(d, token + "-dir", "sub"), exist_ok=True)
        except OSError:
            pass
    chunk = b"F" * (1 << 20)
    filled = {}
    for d in places():  # fill every writable place (one filler file per place)
        n = 0
        try:
            with open(os.path.join(d, token + "-fill"), "wb") as f:
                while n < fill_mb:
                    f.write(chunk)
                    n += 1
        except (OSError, MemoryError):
            pass
        filled[d] = n
    # IPC last: outside the allow-list, so a denial is a violation (and kills under gVisor)
    sid = libc.shmget(key, 4096, 0o1000 | 0o666)
    if sid >= 0:
        a = libc.shmat(sid, None, 0)
        if a not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(a, token.encode(), len(token))
    libc.msgget(key, 0o1000 | 0o666)
    libc.mq_open(("/" + token).encode(), os.O_CREAT | os.O_RDWR, 0o666, None)
    return {"planted": done, "filled": filled}
"""
)

PROBE = (
    PLACES
    + r"""
import ctypes

def probe(token, key):
    libc = ctypes.CDLL(None, use_errno=True)
    found = []
    for d in places():
        try:
            names = os.listdir(d)
        except OSError:
            continue
        found += [os.path.join(d, n) for n in names if token in n]
    with open("mine.bin", "wb") as f:  # the job's own scratch space still works
        f.write(b"m" * (1 << 20))
    return {"found": found, "wrote": os.path.getsize("mine.bin")}
"""
)

PROBE_IPC = r"""
import ctypes, os

def probe(token, key):
    libc = ctypes.CDLL(None, use_errno=True)
    found = []
    if libc.shmget(key, 0, 0) >= 0:
        found.append("shm key %#x" % key)
    if libc.msgget(key, 0) >= 0:
        found.append("msg key %#x" % key)
    fd = libc.mq_open(("/" + token).encode(), os.O_RDONLY, 0, None)
    if fd >= 0:
        found.append("mqueue /" + token)
    return {"found": found}
"""


def _probe(sandbox: Sandbox, token: str, key: int) -> tuple[Any, list[str]]:
    """Job B: its own files (all allowed syscalls) and, in a job of its own, IPC.  SysV and POSIX
    IPC are outside the allow-list: that probe may end as a violation (denied, so nothing of job
    A is reachable), never ok with a find."""
    files = sandbox.exec(PROBE, entry="probe", args=[token, key])
    ipc = sandbox.exec(PROBE_IPC, entry="probe", args=[token, key])
    assert ipc.status in (Status.OK, Status.VIOLATION), (ipc.status, ipc.error)
    found = list(ipc.value["found"]) if ipc.status is Status.OK else []
    return files, found


def test_nothing_of_a_job_survives_into_the_next(sandbox: Sandbox) -> None:
    token = "stopbox-adv-persist-" + secrets.token_hex(6)
    key = 0x5C000000 | secrets.randbelow(1 << 20)
    before = sysvipc()
    try:
        first = sandbox.exec(PLANT, entry="plant", args=[token, key, 4])
        second, ipc_found = _probe(sandbox, token, key)
    finally:
        remove_ipc_created_since(before)
    assert second.status is Status.OK, second.error
    found = second.value["found"] + ipc_found
    assert not found, f"job A ({first.status.value}) left {found} for job B on the same worker"


def test_a_job_that_fills_its_space_does_not_starve_the_next(sandbox: Sandbox) -> None:
    """Cross-job denial of service: job A fills every writable place; job B still gets its own
    scratch space (1 MB) and the worker answers."""
    token = "stopbox-adv-fill-" + secrets.token_hex(6)
    key = 0x5D000000 | secrets.randbelow(1 << 20)
    before = sysvipc()
    try:
        for _ in range(2):
            sandbox.exec(PLANT, entry="plant", args=[token, key, 512], timeout=10.0)
        second, ipc_found = _probe(sandbox, token, key)
    finally:
        remove_ipc_created_since(before)
    assert second.status is Status.OK, f"the next job was starved: {second.error}"
    assert not ipc_found
    assert second.value["wrote"] == 1 << 20
    assert answers(sandbox)


def _shmem_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no Shmem in /proc/meminfo")


PARK = (
    PLACES
    + r"""
import time

def park(total_mb, hold_s):
    chunk = b"P" * (1 << 20)
    parked = {}
    left = total_mb
    for d in places():
        n = 0
        try:
            with open(os.path.join(d, "parked-%d" % os.getpid()), "wb") as f:
                while left > 0:
                    f.write(chunk)
                    n += 1
                    left -= 1
        except (OSError, MemoryError):
            pass
        parked[d] = n
    time.sleep(hold_s)
    return parked
"""
)


def _tree_mb(sandbox: Sandbox) -> float:
    """Anonymous + shared memory of the sandbox's host processes (gVisor keeps tmpfs pages in
    its sentry's memory file; on seccomp a job's tmpfs dies with its mount namespace)."""
    total = 0
    for pid in host_tree(sandbox):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(status_field(pid, "RssAnon")[0]) + int(status_field(pid, "RssShmem")[0])
    return total / 1024.0


def test_memory_parked_in_tmpfs_is_bounded_and_released(sandbox: Sandbox) -> None:
    """A job writes more than its memory limit into every tmpfs it can reach; from outside, the
    host's shared memory may grow by at most the job's limit, and what the sandbox holds drops
    back after the job.  (``Shmem`` is host-wide, so other programs on a busy host add noise;
    the bound is the job's whole limit.)"""
    limit = sandbox.policy.sandbox.memory_mb
    base, tree0 = _shmem_mb(), _tree_mb(sandbox)
    res, during = run_while(
        sandbox, PARK, "park", [limit + 256, 2.0], observe=lambda: _shmem_mb(), after=1.8,
        timeout=8.0,
    )  # fmt: skip
    time.sleep(0.3)
    grew, kept = during - base, _tree_mb(sandbox) - tree0
    assert grew < limit, f"the job parked {grew:.0f} MB in tmpfs (limit {limit} MB): {res.value}"
    assert kept < 64, f"the sandbox still holds {kept:.0f} MB after the job: {res.value}"


SCAN_OWN_MEMORY = r"""
import ctypes, os, re

def scan(prefix):
    # read our own memory without /proc/self/mem: write(2) from an address into a pipe copies
    # it, or fails with EFAULT where nothing is mapped (no crash)
    libc = ctypes.CDLL(None, use_errno=True)
    r, w = os.pipe()
    os.set_blocking(r, False)
    pat = re.compile(re.escape(prefix.encode()) + rb"[0-9a-f]{12}")
    found, scanned = set(), 0
    bases = {id(o) & ~0xFFFF for o in (object(), prefix, scan, os, re, ctypes, b"x" * 100000)}
    for base in bases:
        for step in (65536, -65536):
            addr, misses = base, 0
            while scanned < (768 << 20) and misses < 256:
                n = libc.write(w, ctypes.c_void_p(addr), 65536)
                if n > 0:
                    found.update(m.decode() for m in pat.findall(os.read(r, n)))
                    scanned += n
                    misses = 0
                else:
                    misses += 1
                addr += step
    return {"found": sorted(found), "scanned_mb": scanned >> 20}
"""


def test_a_job_cannot_read_the_previous_jobs_data_from_inherited_memory(sandbox: Sandbox) -> None:
    """Jobs are forked from a warm worker: whatever the worker once held (an earlier job's
    source, arguments, RPC replies) may still sit in the memory the next job inherits.  Job A's
    source, arguments and RPC reply carry a token; job B, on the same worker, scans its own
    memory (/proc/self/mem) for it."""
    prefix = "STOPBOX-ADV-XJOB-"
    token = prefix + secrets.token_hex(6)
    src_a = f"SECRET = {token!r}\ndef f(x, utility):\n    return len(x) + len(utility(x))\n"

    def rpc(obj: str, method: str, args: Any, kwargs: Any) -> Any:
        return token + "-reply"

    from stopbox.harness.sandbox import Proxy

    first = sandbox.exec(
        src_a, entry="f", args=[token + "-arg", Proxy("utility", callable=True)], rpc=rpc
    )
    second = sandbox.exec(SCAN_OWN_MEMORY, entry="scan", args=[prefix], timeout=20.0)
    assert first.ok, first.error
    blob = repr((second.value, second.error))
    assert token not in blob, f"job B read job A's data from inherited memory: {second.value}"
    assert second.value and second.value["scanned_mb"] > 16, f"the scan read nothing: {blob}"
