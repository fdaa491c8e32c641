"""A monitor no job can silence: after blinding the in-process monitor, a denied action (socket,
fork, a write outside) must still end the job as ``violation`` — never ``ok`` with no violation.

Ways to blind it: flood the audit hook past its own event cap with harmless events; flood the
worker's event cap with forged event frames; remove the interpreter's audit hooks with ctypes
(find ``interp->audit_hooks`` and clear it); clear the hook's import bookkeeping.
"""

from __future__ import annotations

import pytest
from _outside import not_silently_ok

from stopbox.harness.sandbox import Sandbox, Status

DENIED = r"""
import os, socket

def denied_actions():
    tried = []
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("127.0.0.1", 9))
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
        open("/etc/stopbox-monitor-blinded", "w").write("x")
    except OSError as exc:
        tried.append(repr(exc))
    return tried
"""

BLINDERS = {
    "audit_hook_cap": r"""
def blind():
    for i in range(2000):
        compile("%d" % i, "<flood>", "eval")
""",
    "worker_event_cap": r"""
import fcntl, json, struct

def blind():
    body = json.dumps({"op": "event", "event": {"kind": "audit", "event": "noise",
                                                 "args": []}}).encode()
    frame = struct.pack(">I", len(body)) + body
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_WRONLY:
                continue
        except OSError:
            continue
        for _ in range(3000):
            os.write(fd, frame)
""",
    "ctypes_clear_audit_hooks": r"""
import ctypes

def blind():
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
            break
        if p < 65536 or p % 8 or peek(p + 8) != id(list):
            continue
        hooks = ctypes.cast(p, ctypes.py_object).value
        if hooks and all(getattr(h, "__name__", "") == "hook" for h in hooks):
            hooks.clear()
            return off
    raise RuntimeError("audit hook list not found")
""",
    "audit_bookkeeping": r"""
import sys

def blind():
    audit = sys.modules.get("_audit")
    if audit is not None:
        audit.IMPORTS_LIVE.clear()
        audit.REPORTED_IMPORTS.update({"socket", "os", "ctypes", "subprocess"})
""",
}


@pytest.mark.parametrize("blinder", sorted(BLINDERS))
def test_denied_action_after_blinding_is_a_violation(sandbox: Sandbox, blinder: str) -> None:
    src = (
        DENIED + BLINDERS[blinder] + ("\ndef attack():\n    blind()\n    return denied_actions()\n")
    )
    res = sandbox.exec(src, entry="attack", timeout=5.0)
    assert not_silently_ok(res), f"{blinder}: ended ok with no violation: {res.value}"
    assert res.status is Status.VIOLATION, (blinder, res.status, res.value, res.error)


def test_blinding_alone_cannot_end_ok_after_the_event_cap(sandbox: Sandbox) -> None:
    """Reaching an event cap is itself a violation (the job cannot end ok)."""
    src = BLINDERS["worker_event_cap"].replace("import fcntl", "import fcntl, os") + (
        "\ndef attack():\n    blind()\n    return 1\n"
    )
    res = sandbox.exec(src, entry="attack", timeout=5.0)
    assert res.status is Status.VIOLATION, (res.status, len(res.events))
