"""Jobs must not leak into each other: two jobs back to back on one warm worker.

The pool hands the most recently released worker to the next job (LIFO), so two sequential
``exec`` calls run on the same warm worker.  Job A plants a token everywhere it can write
(workdir, its parent, ``$TMPDIR``, ``/tmp``, ``/dev/shm``, ``$HOME``, the scratch directory, SysV
IPC with a fixed key, a POSIX queue) and fills what it can; job B looks for the token and needs
its own scratch space.  Memory parked in tmpfs is measured on the host (``Shmem`` in
``/proc/meminfo``: tmpfs, SysV shm and gVisor's memory file all count there).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from _outside import answers, remove_ipc_created_since, run_while, sysvipc

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
    sid = libc.shmget(key, 4096, 0o1000 | 0o666)
    if sid >= 0:
        a = libc.shmat(sid, None, 0)
        if a not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(a, token.encode(), len(token))
    libc.msgget(key, 0o1000 | 0o666)
    libc.mq_open(("/" + token).encode(), os.O_CREAT | os.O_RDWR, 0o666, None)
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
    if libc.shmget(key, 0, 0) >= 0:
        found.append("shm key %#x" % key)
    if libc.msgget(key, 0) >= 0:
        found.append("msg key %#x" % key)
    fd = libc.mq_open(("/" + token).encode(), os.O_RDONLY, 0, None)
    if fd >= 0:
        found.append("mqueue /" + token)
    with open("mine.bin", "wb") as f:  # the job's own scratch space still works
        f.write(b"m" * (1 << 20))
    return {"found": found, "wrote": os.path.getsize("mine.bin")}
"""
)


def test_nothing_of_a_job_survives_into_the_next(sandbox: Sandbox) -> None:
    token = "stopbox-adv-persist-" + secrets.token_hex(6)
    key = 0x5C000000 | secrets.randbelow(1 << 20)
    before = sysvipc()
    try:
        first = sandbox.exec(PLANT, entry="plant", args=[token, key, 4])
        second = sandbox.exec(PROBE, entry="probe", args=[token, key])
    finally:
        remove_ipc_created_since(before)
    assert second.status is Status.OK, second.error
    found = second.value["found"]
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
        second = sandbox.exec(PROBE, entry="probe", args=[token, key])
    finally:
        remove_ipc_created_since(before)
    assert second.status is Status.OK, f"the next job was starved: {second.error}"
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


def test_memory_parked_in_tmpfs_is_bounded_and_released(sandbox: Sandbox) -> None:
    """A job writes more than its memory limit into every tmpfs it can reach; from outside, the
    host's shared memory may grow by at most the job's limit, and drops back after the job."""
    limit = sandbox.policy.sandbox.memory_mb
    base = _shmem_mb()
    res, during = run_while(
        sandbox, PARK, "park", [limit + 256, 2.0], observe=lambda: _shmem_mb(), after=1.8,
        timeout=8.0,
    )  # fmt: skip
    time.sleep(0.3)
    after = _shmem_mb()
    grew, kept = during - base, after - base
    assert grew < limit, f"the job parked {grew:.0f} MB in tmpfs (limit {limit} MB): {res.value}"
    assert kept < 64, f"{kept:.0f} MB of tmpfs survived the job: {res.value}"
