"""Host IPC: SysV shared memory, message queues and semaphores (``/proc/sysvipc/*``), POSIX
message queues and ``/dev/shm`` — a job can neither reach the host's objects nor leave its own.

Checked on the host: a 0666 host segment keeps its contents and its secret never reaches the job;
no SysV object, POSIX queue or ``/dev/shm`` file appears on the host because of a job.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from _outside import host_mqueue_exists, host_segment, new_ipc, remove_ipc_created_since, sysvipc

from stopbox.harness.sandbox import Sandbox

IPC_ATTACK = r"""
import ctypes, os, mmap

def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    out = {}
    shmid = libc.shmget(ctx["key"], 0, 0)
    out["host_shmget"] = shmid
    if shmid >= 0:
        addr = libc.shmat(shmid, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            out["host_read"] = ctypes.string_at(addr, 64).decode("latin-1")
            ctypes.memmove(addr, b"OVERWRITTEN-BY-JOB", 18)
    for i in range(64):  # also try every small id: segments made with IPC_PRIVATE
        addr = libc.shmat(i, None, 0x1000)  # SHM_RDONLY
        if addr not in (None, ctypes.c_void_p(-1).value):
            out.setdefault("ids", []).append(ctypes.string_at(addr, 64).decode("latin-1"))
    # leave objects behind: a 64 MB segment, a message queue, a semaphore set
    leave = ctx["leave_key"]
    sid = libc.shmget(leave, 64 << 20, 0o1000 | 0o666)
    if sid >= 0:
        a = libc.shmat(sid, None, 0)
        if a not in (None, ctypes.c_void_p(-1).value):
            ctypes.memset(a, 0x41, 64 << 20)
    out["left_shm"] = sid
    out["left_msg"] = libc.msgget(leave, 0o1000 | 0o666)
    out["left_sem"] = libc.semget(leave, 4, 0o1000 | 0o666)
    try:
        out["mq_open"] = libc.mq_open(ctx["mq"].encode(), os.O_CREAT | os.O_RDWR, 0o666, None)
    except AttributeError:
        out["mq_open"] = "no mq_open"
    for name in ("/dev/shm/" + ctx["shm_file"], "/dev/mqueue/" + ctx["shm_file"]):
        try:
            with open(name, "wb") as f:
                f.write(b"B" * (8 << 20))
            out[name] = "written"
        except OSError as exc:
            out[name] = repr(exc)
    return out
"""


@pytest.fixture
def ipc_before() -> Iterator[dict[str, set[tuple[str, str]]]]:
    before = sysvipc()
    yield before
    remove_ipc_created_since(before)


def test_host_sysv_ipc_is_neither_reachable_nor_left_behind(
    sandbox: Sandbox, ipc_before: dict[str, set[tuple[str, str]]]
) -> None:
    key = 0x5B000000 | secrets.randbelow(1 << 20)
    leave_key = key + 1
    secret = ("STOPBOX-ADV-SHM-" + secrets.token_hex(8)).encode()
    tag = "stopbox-adv-" + secrets.token_hex(6)
    ctx = {"key": key, "leave_key": leave_key, "mq": "/" + tag, "shm_file": tag}
    with host_segment(key, secret) as read_back:
        res = sandbox.exec(IPC_ATTACK, entry="attack", args=[ctx])
        contents = read_back()
    problems = []
    if contents != secret:
        problems.append(f"the host segment was overwritten: {contents!r}")
    blob = repr((res.value, res.stdout, res.stderr, res.error))
    if secret.decode() in blob:
        problems.append("the host segment's contents reached the job")
    for kind, new in new_ipc(ipc_before).items():
        if new:
            problems.append(f"host {kind} objects left behind: {new}")
    if host_mqueue_exists(ctx["mq"]):
        problems.append(f"POSIX message queue {ctx['mq']} created on the host")
    for path in (f"/dev/shm/{tag}", f"/dev/mqueue/{tag}"):
        if os.path.exists(path):
            os.unlink(path)
            problems.append(f"{path} created on the host")
    assert not problems, f"host IPC reachable ({res.status.value}, {res.value}): {problems}"
