"""socket(2) and connect(2) as raw syscalls through ctypes (bypasses the socket module)."""
import ctypes
import struct


def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(41, 2, 1, 0)  # socket(AF_INET, SOCK_STREAM, 0)
    if fd < 0:
        return f"socket errno {ctypes.get_errno()}"
    addr = struct.pack("!HH4s8x", 2, ctx["port"], bytes([127, 0, 0, 1]))
    addr = struct.pack("=H", 2) + addr[2:]
    r = libc.syscall(42, fd, ctypes.c_char_p(addr), len(addr))  # connect
    return f"connect {r} errno {ctypes.get_errno()}"
