"""A denied syscall in a second thread is seen outside the job on every backend (red team F6).

Under gVisor the filter can only kill the calling thread (runsc has no KILL_PROCESS), so a
denied syscall in a second thread once died unseen while the main thread answered ``ok``.  Now a
job cannot start a thread where only the thread would die (the attempt itself kills the job),
and on the host kernel a thread cannot start either (RLIMIT_NPROC) or its denial reaches the
monitor.  The job clears its own audit hooks first: only trusted code outside may decide.
"""

from __future__ import annotations

import pytest
from _outside import answers, not_silently_ok
from test_adv_monitor import BLINDERS

from stopbox.harness.sandbox import Sandbox, Status

ATTACK = (
    "import os\n"
    + BLINDERS["ctypes_clear_audit_hooks"]
    + r"""
import ctypes, threading

def attack(which):
    blind()
    libc = ctypes.CDLL(None, use_errno=True)
    seen = []

    def second():
        if which == "socket":
            seen.append(libc.syscall(41, 2, 1, 0))  # socket(AF_INET, SOCK_STREAM, 0)
        else:
            seen.append(libc.syscall(135, ctypes.c_long(0xFFFFFFFF)))  # personality query
        seen.append("after")

    try:
        th = threading.Thread(target=second)
        th.start()
    except RuntimeError:
        return "no thread"
    th.join(2.0)
    return ["main alive", seen, th.is_alive()]
"""
)


@pytest.mark.parametrize("which", ["socket", "personality"])
def test_a_denied_syscall_in_a_thread_is_seen_outside(sandbox: Sandbox, which: str) -> None:
    res = sandbox.exec(ATTACK, entry="attack", args=[which], timeout=20.0)
    if res.value == "no thread":  # the thread never ran: nothing was denied in it
        assert res.status is Status.OK
    else:
        assert not_silently_ok(res), f"{which} in a thread ended ok unseen: {res.value!r}"
        assert res.status is not Status.OK, (res.status, res.value, res.violations)
    assert answers(sandbox), "the sandbox does not answer after the attack"
