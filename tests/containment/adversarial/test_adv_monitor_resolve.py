"""The monitor never takes a path it cannot resolve for "inside" (issue 9, second shift).

Forms the red team's round 2 did not try, of the same classes: an empty path meaning the fd
itself (AT_EMPTY_PATH), a path the reaper cannot read (a bad pointer), and -- where the reaper
sees the syscall's result (ptrace under gVisor) -- a path change the kernel denies although its
path looked inside.  The job first clears its audit hooks: only the reaper's records count.
"""

from __future__ import annotations

import pytest
from _outside import not_silently_ok
from test_adv_monitor import BLINDERS

from stopbox.harness.sandbox import Sandbox, Status

BLIND = "import os\n" + BLINDERS["ctypes_clear_audit_hooks"]

FORMS = r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000

def attack(how):
    blind()
    if how == "empty_path":  # utimensat(fd, "", NULL, AT_EMPTY_PATH): the fd's own file
        fd = os.open("/etc/passwd", os.O_RDONLY)
        ret = libc.syscall(280, fd, b"", None, AT_EMPTY_PATH)
    else:  # openat(AT_FDCWD, <unmapped>, O_WRONLY|O_CREAT): the reaper cannot read the path
        ret = libc.syscall(257, AT_FDCWD, ctypes.c_void_p(8), os.O_WRONLY | os.O_CREAT, 0o644)
    return [ret, ctypes.get_errno()]
"""


def _paths(res: object) -> list[str]:
    return [str(v.get("path")) for v in getattr(res, "violations", ()) if v.get("path")]


@pytest.mark.parametrize("how", ["empty_path", "bad_pointer"])
def test_a_path_change_the_monitor_cannot_name_is_recorded(sandbox: Sandbox, how: str) -> None:
    before = __import__("os").stat("/etc/passwd")
    res = sandbox.exec(BLIND + FORMS, entry="attack", args=[how], timeout=20.0)
    assert __import__("os").stat("/etc/passwd").st_mtime == before.st_mtime
    assert isinstance(res.value, list) and res.value[0] == -1, (res.status, res.value, res.error)
    assert not_silently_ok(res), f"{how}: {res.value}"
    want = "/etc/passwd" if how == "empty_path" else "?/"
    assert any(p.startswith(want) for p in _paths(res)), (res.status, res.violations)


READ_ONLY_OWN_FILE = r"""
def attack():
    blind()
    with open("ro", "w") as fh:
        fh.write("x")
    os.chmod("ro", 0o444)
    try:
        open("ro", "a")
        return "opened"
    except OSError as exc:
        return exc.errno
"""


def test_a_denied_path_change_is_recorded_where_the_result_is_seen(
    sandbox: Sandbox, backend_name: str
) -> None:
    """Under ptrace (gvisor, docker) the reaper follows each path change to its exit, so a
    denied one is recorded whatever path it read at the check (the job may have swapped it).
    On the seccomp backend the reaper cannot see the result (user notification CONTINUE): an
    open the kernel denies inside the job's own tree stays ``ok`` (the limit in SECURITY.md)."""
    res = sandbox.exec(BLIND + READ_ONLY_OWN_FILE, entry="attack", timeout=20.0)
    assert res.value == 13, (res.status, res.value, res.error)  # EACCES: nobody, mode 0444
    if backend_name == "seccomp":
        assert res.status is Status.OK and not res.violations, res.violations
        return
    assert res.status is Status.VIOLATION, (res.status, res.error)
    assert any("denied (EACCES)" in str(v.get("detail")) for v in res.violations), res.violations
