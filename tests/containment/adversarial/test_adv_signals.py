"""Signals by every route: a job may not signal its worker, the harness or anything else.

Routes: ``kill``/``killpg``/``tgkill``/``rt_sigqueueinfo`` on every pid it can name (parent, 1,
the harness pid, -1, its group), ``pidfd_open`` + ``pidfd_send_signal``, ``/proc/<pid>`` opened as
a pidfd, and ``fcntl`` ``F_SETOWN``/``F_SETOWN_EX``/``F_SETSIG`` + ``O_ASYNC`` on its pipes (the
kernel then signals the owner whenever the worker reads or writes the other end).

Checked outside: the worker is the same process afterwards (not replaced), is not stopped, the
next job on it answers at once, and the harness received no signal.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator

import pytest
from _outside import answers, descendants, launchers, status_field, steady_workers

from stopbox.harness.sandbox import Sandbox

SIGNALS = r"""
import ctypes, fcntl, os, signal, struct, time

F_SETSIG, F_SETOWN_EX, F_OWNER_PID, F_OWNER_PGRP = 10, 15, 1, 2

def attack(harness_pid, sig_name, route):
    sig = getattr(signal, sig_name)
    libc = ctypes.CDLL(None, use_errno=True)
    targets = sorted({os.getppid(), 1, harness_pid, 2, 3} - {os.getpid(), 0})
    out = []
    def note(what, ok):
        out.append((what, ok))
    if route == "kill":
        for pid in targets + [-1]:
            for fn in (lambda: os.kill(pid, sig), lambda: os.killpg(abs(pid), sig),
                       lambda: signal.pthread_kill(pid, sig)):
                try:
                    fn()
                    note(("kill", pid), True)
                except (OSError, ValueError, OverflowError):
                    pass
            note(("tgkill", pid), libc.syscall(234, pid, pid, sig) == 0)
            info = ctypes.create_string_buffer(128)
            note(("rt_sigqueueinfo", pid), libc.syscall(129, pid, sig, info) == 0)
    elif route == "pidfd":
        for pid in targets:
            fd = libc.syscall(434, pid, 0)  # pidfd_open
            if fd < 0:
                try:
                    fd = os.open("/proc/%d" % pid, os.O_RDONLY | os.O_DIRECTORY)
                except OSError:
                    continue
            note(("pidfd_send_signal", pid), libc.syscall(424, fd, sig, None, 0) == 0)
    elif route == "fasync":
        fds = []
        for fd in range(0, 64):
            try:
                fcntl.fcntl(fd, fcntl.F_GETFL)
                fds.append(fd)
            except OSError:
                pass
        for fd in fds:
            for pid in targets:
                try:
                    fcntl.fcntl(fd, fcntl.F_SETOWN, pid)
                    fcntl.fcntl(fd, F_SETSIG, sig)
                    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
                    fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_ASYNC)
                    note(("setown", fd, pid), True)
                except OSError:
                    pass
                try:
                    fcntl.fcntl(fd, F_SETOWN_EX, struct.pack("ii", F_OWNER_PGRP, pid))
                    note(("setown_ex_pgrp", fd, pid), True)
                except OSError:
                    pass
        for _ in range(50):  # make the worker read and write our pipes
            print("x" * 4000, flush=True)
            time.sleep(0.005)
    return out
"""

ROUTES = ("kill", "pidfd", "fasync")
SIGS = ("SIGSTOP", "SIGINT", "SIGTERM")  # freeze, KeyboardInterrupt, default-kill


@pytest.fixture
def harness_signals() -> Iterator[list[int]]:
    got: list[int] = []
    olds = {}
    for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGIO, signal.SIGURG):
        olds[s] = signal.signal(s, lambda n, f: got.append(n))
    try:
        yield got
    finally:
        for s, old in olds.items():
            signal.signal(s, old)


def _stopped(pids: set[int]) -> list[int]:
    out = []
    for pid in pids:
        with contextlib.suppress(OSError):
            # "T": stopped by a signal ("t", tracing stop, is how gVisor's ptrace stubs wait)
            if status_field(pid, "State")[:1] == ["T"]:
                out.append(pid)
    return out


@pytest.mark.parametrize("sig", SIGS)
@pytest.mark.parametrize("route", ROUTES)
def test_signals_by_every_route_reach_nothing(
    sandbox: Sandbox, harness_signals: list[int], route: str, sig: str
) -> None:
    workers = steady_workers(sandbox)
    import os

    sandbox.exec(SIGNALS, entry="attack", args=[os.getpid(), sig, route], timeout=3.0)
    time.sleep(0.2)
    stopped = _stopped(descendants(workers))
    start = time.monotonic()
    ok = answers(sandbox)
    took = time.monotonic() - start
    assert not stopped, f"{route}/{sig}: worker processes stopped: {stopped}"
    assert ok and took < 3.0, f"{route}/{sig}: the worker no longer answers ({took:.1f} s)"
    assert launchers(sandbox) == workers, f"{route}/{sig}: the worker died and was replaced"
    assert not harness_signals, f"{route}/{sig}: the harness got signals {harness_signals}"
