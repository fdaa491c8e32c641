"""execve(2) through ctypes, replacing the job process with a shell."""
import ctypes


def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    cmd = f"echo escaped > {ctx['markers']['tmp']}".encode()
    argv = (ctypes.c_char_p * 4)(b"sh", b"-c", cmd, None)
    envp = (ctypes.c_char_p * 1)(None)
    r = libc.execve(b"/bin/sh", argv, envp)
    return f"execve {r} errno {ctypes.get_errno()}"
