"""A monitor no job can silence: after blinding the in-process monitor, a denied action (socket,
fork, a write outside) must still end the job as ``violation`` — never ``ok`` with no violation.

Ways to blind it: flood the audit hook past its own event cap with harmless events; flood the
worker's event cap with forged event frames; remove the interpreter's audit hooks with ctypes
(find ``interp->audit_hooks`` and clear it); clear the hook's import bookkeeping.
"""

from __future__ import annotations

from typing import Any

import pytest
from _outside import not_silently_ok

from stopbox.harness.sandbox import Sandbox, Status
from stopbox.harness.sandbox.selfcheck._containment import attack_source

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


FORGE_BROKER = r"""
import fcntl, json, os, struct

def attack():
    body = json.dumps({"op": "event", "event": {"kind": "broker", "event": "use_sandbox",
                                                 "use_sandbox": True}}).encode()
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                os.write(fd, struct.pack(">I", len(body)) + body)
        except OSError:
            pass
    return 1
"""


def test_a_forged_broker_event_cannot_hide_the_brokers_own(sandbox: Sandbox) -> None:
    """The engine and the probe add the broker's (trusted) events to a result only when it has
    no event of kind "broker": a job that forges one would hide a real use_sandbox=False call
    from the runtime scanner.  The forged event must not reach the result, and it is a
    violation."""
    res = sandbox.exec(FORGE_BROKER, entry="attack")
    assert not any(e.get("kind") == "broker" for e in res.events), res.events
    assert res.status is Status.VIOLATION, (res.status, res.violations)


# --- denials seen outside the job ---------------------------------------------------------------
# The job clears its audit hooks (ctypes) and then makes the denied call with a raw syscall (no
# audit event at all).  The verdict comes from trusted code outside the job: the job's reaper
# (seccomp user notification: a `seccomp`/`landlock` violation with source "monitor"), or the
# reaper seeing the job die of SIGSYS (escape-class syscalls everywhere; every denial under
# gVisor, which has no seccomp user notification).  Opens for writing outside the writable paths
# are allowed by the filter but shown to the reaper (user notification; under gVisor the reaper
# traces the job, SECCOMP_RET_TRACE), which records them; Landlock / gVisor still deny them.


def _seen_outside(res: Any) -> list[str]:
    return [
        str(v.get("source") or v.get("kind"))
        for v in res.violations
        if v.get("source") == "monitor" or v.get("kind") == "sigsys"
    ]


@pytest.mark.parametrize(
    "attack",
    ["monitor_blind_socket", "monitor_blind_fork", "monitor_blind_ptrace",
     "monitor_blind_errno_syscalls", "monitor_blind_open_write"],
)  # fmt: skip
def test_a_denial_after_clearing_the_hooks_is_seen_outside(
    sandbox: Sandbox, attack: str, tmp_path: Any
) -> None:
    ctx = {"markers": {"tmp": str(tmp_path / "marker")}}
    res = sandbox.exec(attack_source(attack), entry="attack", args=[ctx], timeout=5.0)
    assert not_silently_ok(res), f"{attack}: ended ok with no violation: {res.value}"
    assert res.status is Status.VIOLATION, (attack, res.status, res.error)
    assert not (tmp_path / "marker").exists()
    assert _seen_outside(res), f"{attack}: no violation from outside the job: {res.violations}"


def test_denials_are_answered_with_errno_and_each_is_recorded(sandbox: Sandbox) -> None:
    """seccomp backend: the monitor answers EPERM (the policy's errno action), the job goes on,
    and every denial (by name) is a violation.  Under gVisor the first denial kills."""
    src = (
        "import ctypes\n"
        "def f():\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    out = []\n"
        "    for nr, args in ((203, (0, 8, 0)), (135, (0xFFFFFFFF,))):\n"
        "        r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])\n"
        "        out.append((r, ctypes.get_errno()))\n"
        "    return out\n"
    )
    res = sandbox.exec(src, entry="f")
    assert res.status is Status.VIOLATION
    if sandbox.name == "seccomp":
        assert res.value == [[-1, 1], [-1, 1]] or res.value == [(-1, 1), (-1, 1)], res.value
        names = [v.get("syscall") for v in res.violations if v.get("source") == "monitor"]
        assert names == ["sched_setaffinity", "personality"], res.violations
    else:
        assert any(v.get("kind") == "sigsys" for v in res.violations), res.violations


def test_a_flood_of_denials_stays_a_bounded_violation(sandbox: Sandbox) -> None:
    """Thousands of denied syscalls: the monitor's records are capped (a violation either way)
    and the job still ends in time."""
    src = (
        "import ctypes\n"
        "def f():\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    for _ in range(5000):\n"
        "        libc.syscall(135, ctypes.c_long(0xFFFFFFFF))\n"
        "    return 'done'\n"
    )
    res = sandbox.exec(src, entry="f", timeout=30.0)
    assert res.status is Status.VIOLATION, res.error
    assert len(res.violations) <= 100, len(res.violations)
    if sandbox.name == "seccomp":
        assert res.value == "done"
        assert any("capped" in str(v.get("detail")) for v in res.violations), res.violations


def test_benign_numeric_jobs_stay_ok_with_no_violation(sandbox: Sandbox) -> None:
    """Start-up denials (interpreter, numpy) never count; ordinary work denies nothing."""
    src = (
        "import numpy as np, json, os, tempfile, math\n"
        "def f(n):\n"
        "    a = np.random.default_rng(0).random((n, n))\n"
        "    v = float(np.linalg.eigvalsh(a @ a.T).max())\n"
        "    with open('out.json', 'w') as fh:\n"
        "        json.dump({'v': v}, fh)\n"
        "    with tempfile.NamedTemporaryFile('w', delete=False) as t:\n"
        "        t.write('x')\n"
        "    return [round(v, 6) > 0, os.path.getsize('out.json') > 0, math.factorial(5)]\n"
    )
    res = sandbox.exec(src, entry="f", args=[40])
    assert res.status is Status.OK, (res.error, res.violations)
    assert res.value == [True, True, 120]
    assert res.violations == ()
    assert "denial_monitor" in res.layers["applied"] or "denial_kill" in res.layers["applied"]


PATH_CHANGES_OUTSIDE = r"""
import os

def f():
    out = []
    for fn in (lambda: os.mkdir("/usr/evil"), lambda: os.unlink("/usr/lib/os-release"),
               lambda: os.rename("/etc/hostname", "/etc/h2"), lambda: os.symlink("x", "/etc/lnk"),
               lambda: os.chmod("/etc/passwd", 0o777), lambda: os.utime("/etc/passwd"),
               lambda: os.truncate("/etc/passwd", 0), lambda: os.rmdir("/usr/lib"),
               lambda: os.link("/etc/passwd", "p2"), lambda: os.rename("/etc/passwd", "p3")):
        try:
            fn()
            out.append("done")
        except OSError as e:
            out.append(e.errno)
    return out
"""

PATH_CHANGES_INSIDE = r"""
import os, shutil, tempfile

def f():
    os.mkdir("d"); open("d/x", "w").write("1"); os.rename("d/x", "d/y")
    os.symlink("/etc/passwd", "lnk"); os.unlink("lnk")  # the link itself is in the workdir
    os.chmod("d/y", 0o600); os.utime("d/y"); os.truncate("d/y", 0)
    os.link("d/y", "d/z"); os.unlink("d/z"); shutil.rmtree("d")
    with tempfile.TemporaryDirectory() as t:
        open(os.path.join(t, "a"), "w").write("x")
    os.makedirs("/tmp/q/r"); os.rename("/tmp/q", "/tmp/q2"); os.mkdir("/dev/shm/s")
    return "ok"
"""


def test_every_path_change_outside_is_seen_outside(sandbox: Sandbox) -> None:
    """mkdir, unlink, rename, symlink, chmod, utime, truncate, rmdir, link outside the writable
    paths: each denied (by Landlock or gVisor) and each recorded by the job's reaper."""
    res = sandbox.exec(PATH_CHANGES_OUTSIDE, entry="f")
    assert res.status is Status.VIOLATION, res.error
    assert "done" not in res.value, res.value
    seen = [v.get("syscall") for v in res.violations if v.get("source") == "monitor"]
    for name in ("mkdir", "unlink", "rename", "symlink", "chmod", "utimensat", "truncate",
                 "rmdir", "link"):  # fmt: skip
        assert name in seen, (name, seen)


def test_path_changes_inside_the_writable_paths_are_not_violations(sandbox: Sandbox) -> None:
    res = sandbox.exec(PATH_CHANGES_INSIDE, entry="f")
    assert res.status is Status.OK, (res.error, res.violations)
    assert res.value == "ok" and res.violations == ()


def test_with_the_kill_action_path_changes_outside_are_still_seen(backend_name: str) -> None:
    """Policy ``syscalls.action = "kill"``: every other denial kills (SIGSYS), and path changes
    outside the writable paths still reach the reaper (notification or tracing) and are
    recorded; inside the workdir the job works and ends ok."""
    import dataclasses

    from stopbox.harness.sandbox import started
    from tests.conftest import make_test_policy, require_backend

    require_backend(backend_name)
    base = make_test_policy(pool_size=1)
    policy = dataclasses.replace(base, syscalls=dataclasses.replace(base.syscalls, action="kill"))
    with started(backend_name, policy, pool_size=1) as sb:
        res = sb.exec(PATH_CHANGES_OUTSIDE, entry="f")
        assert res.status is Status.VIOLATION, res.error
        seen = [v.get("syscall") for v in res.violations if v.get("source") == "monitor"]
        assert "mkdir" in seen and "rename" in seen, res.violations
        inside = sb.exec(PATH_CHANGES_INSIDE, entry="f")
        assert inside.status is Status.OK and inside.violations == (), inside.violations
        killed = sb.exec("import os\ndef f():\n    os.sched_setaffinity(0, {0})\n", entry="f")
        assert any(v.get("kind") == "sigsys" for v in killed.violations), killed.violations
        assert "denial_kill" in inside.layers["applied"]
