"""The wire and the worker's housekeeping under a hostile job.

* every kind of malformed frame a job can write on its channel ends that job with status
  ``violation`` and a reason; the harness raises nothing, the worker is not replaced;
* floods in both directions (RPC bursts the job never reads the answers to, replies bigger than
  the job reads, events by the megabyte) end in bounded time, never ``ok``, and the sandbox
  answers the next job;
* hostile trees for cleanup (1,200 and 3,000 levels deep, unreadable directories, loops) leave
  the worker alive and nothing of the job behind.
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
from typing import Any

import pytest
from _outside import answers, descendants, launchers, status_field, steady_workers

from stopbox.harness.sandbox import Sandbox, Status


def _frame(body: bytes, size: int | None = None) -> bytes:
    return struct.pack(">I", len(body) if size is None else size) + body


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


DEEP = 100_000
MALFORMED: dict[str, bytes] = {
    "bad_tuple": _frame(_json({"op": "result", "status": "ok", "value": {"__tuple__": 5}})),
    "bad_float_tag": _frame(_json({"op": "result", "status": "ok", "value": {"__float__": "z"}})),
    "nesting_too_deep": _frame(
        b'{"op":"result","status":"ok","value":' + b"[" * DEEP + b"]" * DEEP + b"}"
    ),
    "nested_tags_too_deep": _frame(
        b'{"op":"result","status":"ok","value":'
        + b'{"__tuple__":[' * 300
        + b"1"
        + b"]}" * 300
        + b"}"
    ),  # fmt: skip
    "nan_literal": _frame(b'{"op":"result","status":"ok","value":NaN}'),
    "infinity_literal": _frame(b'{"op":"result","status":"ok","value":-Infinity}'),
    "overflowing_float": _frame(b'{"op":"result","status":"ok","value":1e400}'),
    "huge_int": _frame(b'{"op":"result","status":"ok","value":' + b"9" * 5000 + b"}"),
    "nan_in_event": _frame(b'{"op":"event","event":{"kind":"audit","event":"x","args":[NaN]}}'),
    "oversized_header": _frame(b'{"op":"result"', size=0x7FFFFFFF),
    "invalid_json": _frame(b'{"op": "result", "status": '),
    "invalid_utf8": _frame(b'{"op":"result","status":"ok","value":"\xff\xfe"}'),
    "frame_not_an_object": _frame(b"[1, 2, 3]"),
    "wrong_field_types": _frame(
        _json(
            {
                "op": "result",
                "status": ["ok"],
                "value": 1,
                "error": {"x": 1},
                "cpu_s": "fast",
                "max_rss_mb": [1],
                "exc_type": 5,
            }
        )  # fmt: skip
    ),
    "object_ndarray": _frame(
        _json(
            {
                "op": "result",
                "status": "ok",
                "value": {"__ndarray__": {"dtype": "O", "shape": [1], "b64": ""}},
            }
        )  # fmt: skip
    ),
    "ndarray_lies_about_shape": _frame(
        _json(
            {
                "op": "result",
                "status": "ok",
                "value": {"__ndarray__": {"dtype": "<f8", "shape": [10**12], "b64": ""}},
            }
        )
    ),  # fmt: skip
    "unhashable_set": _frame(_json({"op": "result", "status": "ok", "value": {"__set__": [[1]]}})),
    "bad_base64": _frame(_json({"op": "result", "status": "ok", "value": {"__bytes__": "!!"}})),
    "rpc_with_bad_args": _frame(
        _json({"op": "rpc", "obj": "x", "method": "y", "args": {"__tuple__": 5}, "kwargs": [1]})
    ),
    "unexpected_op": _frame(_json({"op": "ready", "pid": 1})),
    "cut_off_frame": _frame(b'{"op":"result"', size=100),
}

SEND_FRAME = r"""
import base64, fcntl, os, time

def channel_fds():
    out = []
    for fd in range(3, 64):
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if flags & os.O_ACCMODE == os.O_WRONLY:
            out.append(fd)
    return out

def attack(b64, then_exit):
    data = base64.b64decode(b64)
    for fd in channel_fds():
        try:
            os.write(fd, data)
        except OSError:
            pass
    if then_exit:
        os._exit(0)
    time.sleep(0.2)
    return "real"
"""


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_frame_ends_the_job_as_violation(sandbox: Sandbox, kind: str) -> None:
    import base64

    workers = launchers(sandbox)  # the previous test ended with the sandbox answering
    data = base64.b64encode(MALFORMED[kind]).decode()
    res = sandbox.exec(SEND_FRAME, entry="attack", args=[data, kind == "cut_off_frame"])
    assert res.status is Status.VIOLATION, (kind, res.status, res.value, res.error)
    assert res.violations and all(v.get("detail") for v in res.violations), res.violations
    assert res.value != "FORGED"
    assert answers(sandbox)
    assert launchers(sandbox) == workers, "the worker died or was replaced"


RPC_BURST = r"""
import fcntl, json, os, struct

def attack(n, size):
    fds = [fd for fd in range(3, 64) if _wr(fd)]
    body = json.dumps({"op": "rpc", "obj": "utility", "method": "__call__",
                       "args": ["x" * size], "kwargs": {}}).encode()
    frame = struct.pack(">I", len(body)) + body
    for _ in range(n):
        for fd in fds:
            os.write(fd, frame)
    return "done"

def _wr(fd):
    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
    except OSError:
        return False
"""


def _echo(obj: str, method: str, args: Any, kwargs: Any) -> Any:
    return args[0] if args else None


def _big(obj: str, method: str, args: Any, kwargs: Any) -> Any:
    return "R" * (8 << 20)


@pytest.mark.parametrize(
    ("case", "n", "size", "handler"),
    [
        ("rpc_burst_never_read", 20_000, 1024, _echo),
        ("rpc_big_replies_never_read", 64, 16, _big),
        ("rpc_big_requests", 10, 8 << 20, _echo),  # 80 MB: over the 64 MB budget
    ],
)
def test_pipe_floods_end_in_bounded_time(
    sandbox: Sandbox, case: str, n: int, size: int, handler: Any
) -> None:
    start = time.monotonic()
    res = sandbox.exec(RPC_BURST, entry="attack", args=[n, size], rpc=handler, timeout=3.0)
    took = time.monotonic() - start
    assert took < 3.0 + 15, f"{case}: the harness was held {took:.1f} s"
    assert res.status is not Status.OK, f"{case}: a flood ended ok: {res.violations}"
    assert res.violations, case
    assert answers(sandbox)


EVENT_FLOOD = r"""
import fcntl, json, os, struct

def _wr(fd):
    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
    except OSError:
        return False

def attack(n, size):
    fds = [fd for fd in range(3, 64) if _wr(fd)]
    body = json.dumps({"op": "event", "event": {"kind": "audit", "event": "flood",
                                                 "args": ["e" * size]}}).encode()
    frame = struct.pack(">I", len(body)) + body
    for _ in range(n):
        for fd in fds:
            os.write(fd, frame)
    return "done"
"""


def _worker_peak_mb(sandbox: Sandbox) -> float:
    """Peak RSS (VmHWM) of the worker processes the host can see (seccomp: the worker itself)."""
    peak = 0.0
    for pid in descendants(launchers(sandbox)):
        with contextlib.suppress(OSError, IndexError, ValueError):
            peak = max(peak, int(status_field(pid, "VmHWM")[0]) / 1024.0)
    return peak


def test_event_flood_by_bytes_is_a_violation_and_bounded(sandbox: Sandbox) -> None:
    """Events capped by count only let 1,000 events of 4 MB each through: the worker and the
    harness must cap bytes too (the worker may not grow past the job's limit), and reaching a
    cap is a violation."""
    res = sandbox.exec(EVENT_FLOOD, entry="attack", args=[200, 4 << 20], timeout=5.0)
    size = len(json.dumps(res.to_json(), default=repr))
    peak = _worker_peak_mb(sandbox)
    assert res.status is Status.VIOLATION, (res.status, res.error)
    assert size < 16 << 20, f"{size} bytes of events reached the harness"
    assert peak < sandbox.policy.sandbox.memory_mb, f"a worker grew to {peak:.0f} MB"
    assert answers(sandbox)


def test_event_flood_by_count_is_a_violation(sandbox: Sandbox) -> None:
    res = sandbox.exec(EVENT_FLOOD, entry="attack", args=[5000, 10], timeout=5.0)
    assert res.status is Status.VIOLATION, (res.status, len(res.events))
    assert any("cap" in str(v.get("detail", "")) for v in res.violations), res.violations


HOSTILE_TREE = r"""
import os

def attack(depth):
    base = os.getcwd()
    made = 0
    try:
        for _ in range(depth):
            os.mkdir("d")
            os.chdir("d")
            made += 1
    except OSError:
        pass
    os.chdir(base)
    return made


def extras():
    steps = (
        lambda: os.makedirs("locked/inner", exist_ok=True),
        lambda: open("locked/inner/f", "w").write("x"),
        lambda: os.chmod("locked/inner", 0),
        lambda: os.chmod("locked", 0),
        lambda: os.mkdir("sticky"),
        lambda: os.chmod("sticky", 0o1000),
        lambda: os.symlink("loop", "loop"),
        lambda: os.symlink("/", "root"),
        lambda: os.mkfifo("fifo"),
        lambda: os.makedirs("w" * 255, exist_ok=True),
    )
    for step in steps:  # mkfifo is outside the allow-list: a violation (kills under gVisor)
        try:
            step()
        except OSError:
            pass
    return True
"""

FRESH_WORKDIR = (
    "import os\n"
    "def f():\n"
    "    here = os.getcwd()\n"
    "    mine = sorted(n for n in os.listdir(here) if not n.endswith('.py'))\n"
    "    try:\n"
    "        near = sorted(n for n in os.listdir(os.path.dirname(here))\n"
    "                      if n.startswith('stopbox-job'))\n"
    "    except OSError:\n"
    "        near = []\n"
    "    return mine + near\n"
)
"""What the next job finds of an earlier one: its workdir must be fresh (only its own source
file), and no earlier job directory sits beside it."""


@pytest.mark.parametrize("depth", [1200, 3000])
def test_hostile_tree_cleanup_keeps_the_worker(sandbox: Sandbox, depth: int) -> None:
    workers = steady_workers(sandbox)
    with sandbox.job(HOSTILE_TREE) as job:
        res = job.call("attack", [depth], timeout=10.0)
        assert res.status is Status.OK, res.error
        assert res.value >= 1000, f"could only make {res.value} levels ({res.error})"
        more = job.call("extras", timeout=10.0)
        # ok, or violation when a step (mkfifo) was denied (under gVisor the denial kills)
        assert more.status in (Status.OK, Status.VIOLATION), more.error
    siblings = sandbox.exec(FRESH_WORKDIR, entry="f")
    assert launchers(sandbox) == workers, "the worker died cleaning up a hostile tree"
    assert answers(sandbox)
    assert siblings.ok and siblings.value == [], f"a job's tree survived: {siblings.value}"


def test_large_results_do_not_pile_up_in_the_harness(sandbox: Sandbox) -> None:
    """A job returning 2 MB per call, called several times in one job: the harness keeps only the
    last value (memory bounded by one result, not by the number of calls)."""
    src = "def f(i):\n    return 'v' * (2 << 20)\n"
    with sandbox.job(src) as job:
        for i in range(3):
            assert job.call("f", [i]).ok
        kept = [r for r in job.results if r.value is not None]  # type: ignore[attr-defined]
        assert len(kept) == 1
    assert answers(sandbox)
