"""The worker survives every job and stays in charge (issue 9, class 4, 5 and 7): floods and
malformed frames on the job's own channel end that job with status violation, the monitor's
budgets are counted in trusted code, and the next job on the same worker works."""

from __future__ import annotations

import pytest

from stopbox.harness.sandbox import Sandbox, Status

RAW = (
    "import json, os, struct\n"
    "def frame(body):\n"
    "    return struct.pack('>I', len(body)) + body\n"
    "def send(msg):\n"
    "    os.write(4, frame(json.dumps(msg).encode()))\n"
    "def raw(body):\n"
    "    os.write(4, frame(body))\n"
)


def _job(body: str) -> str:
    return RAW + "def f():\n" + "".join(f"    {line}\n" for line in body.split("; "))


CASES = {
    "rpc_flood": _job(
        "for _ in range(2000):\n"
        "        send({'op': 'rpc', 'obj': 'x', 'method': 'y', 'args': ['a' * 999]}); "
        "return 'flooded'"
    ),
    "nan_result": _job('raw(b\'{"op": "result", "status": "ok", "value": NaN}\'); return 1'),
    "bad_tuple": _job(
        "send({'op': 'result', 'status': 'ok', 'value': {'__tuple__': 5}}); return 1"
    ),
    "deep_nesting": _job(
        "raw(b'{\"op\": \"result\", \"value\": ' + b'[' * 99999 + b']' * 99999 + b'}'); return 1"
    ),
    "garbage": _job("os.write(4, b'\\xff\\xff\\xff\\xffgarbage'); return 1"),
    "not_json": _job("raw(b'\\x80not json'); return 1"),
    "event_flood": _job(
        "for i in range(5000):\n"
        "        send({'op': 'event', 'event': {'kind': 'audit', 'event': 'x', 'args': ['y']}}); "
        "return 'ok'"
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_frames_end_the_job_as_a_violation_and_the_worker_lives(
    sandbox: Sandbox, case: str
) -> None:
    res = sandbox.exec(CASES[case], entry="f", timeout=10)
    assert res.status is Status.VIOLATION, (res.status, res.error)
    assert res.value not in ("flooded", "ok", 1)
    assert res.violations
    assert sandbox.exec("def g():\n    return 5\n", entry="g").value == 5


def test_audit_hook_removal_does_not_hide_a_denied_escape(sandbox: Sandbox) -> None:
    """A job that blinds its own monitor (no hook events) still cannot make a denied escape
    end ok: escape-class syscalls are killed by the filter and seen by the reaper."""
    src = (
        "import sys, ctypes\n"
        "def f():\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    fd = libc.syscall(41, 2, 1, 0)  # socket(AF_INET, SOCK_STREAM) without the hook\n"
        "    return fd\n"
    )
    res = sandbox.exec(src, entry="f")
    assert res.status is Status.VIOLATION, (res.status, res.value, res.error)


def test_a_deep_tree_in_the_workdir_is_no_problem_for_cleanup(sandbox: Sandbox) -> None:
    src = (
        "import os\n"
        "def f():\n"
        "    for _ in range(1200):\n"
        "        os.mkdir('d')\n"
        "        os.chdir('d')\n"
        "    return 'deep'\n"
    )
    res = sandbox.exec(src, entry="f", timeout=20)
    assert res.value == "deep", res.error
    later = sandbox.exec("import os\ndef g():\n    return os.listdir('.')\n", entry="g")
    assert "d" not in later.value  # a fresh workdir for the next job
