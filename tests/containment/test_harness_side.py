"""The harness side of containment, without a sandbox: hostile bytes and values never raise
anything but FrameError, budgets turn floods into violations, the channel never blocks on a
write without a deadline, and `stopbox exec --json` always answers one JSON object."""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stopbox.harness.sandbox import Status, _codec
from stopbox.harness.sandbox._channel import WorkerDied, WorkerProcess
from stopbox.harness.sandbox._guard import HOOK_EVENT_CAP, Budgets, JobGuard

HOSTILE_BODIES = {
    "nan": b'{"v":NaN}',
    "infinity": b'{"v":-Infinity}',
    "overflow": b'{"v":1e400}',
    "huge_int": b'{"v":' + b"9" * 5000 + b"}",
    "deep_list": b"[" * 100_000 + b"]" * 100_000,
    "deep_dict": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "too_deep_for_the_cap": b"[" * 500 + b"]" * 500,
    "not_json": b'{"op": ',
    "not_utf8": b'"\xff\xfe"',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_hostile_frames_raise_only_frame_error(kind: str) -> None:
    body = HOSTILE_BODIES[kind]
    with pytest.raises(_codec.FrameError):
        _codec.FrameReader().feed(struct.pack(">I", len(body)) + body)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_messages_or_frame_error(data: bytes) -> None:
    try:
        _codec.FrameReader().feed(struct.pack(">I", len(data)) + data)
    except _codec.FrameError:
        pass


HOSTILE_VALUES = [
    {"__tuple__": 5},
    {"__set__": [[1]]},
    {"__set__": "abc"},
    {"__dict__": [[[1], 2]]},
    {"__dict__": [1, 2]},
    {"__float__": "1.5"},
    {"__float__": 7},
    {"__bytes__": "!!"},
    {"__bytes__": 5},
    {"__ndarray__": {"dtype": "O", "shape": [1], "b64": ""}},
    {"__ndarray__": {"dtype": "<f8", "shape": [10**12], "b64": ""}},
    {"__ndarray__": {"dtype": "<f8", "shape": [-1], "b64": ""}},
    {"__ndarray__": {"dtype": "<f8", "shape": [2], "b64": "AAAA"}},
    {"__ndarray__": {"dtype": "nonsense", "shape": [1], "b64": ""}},
    {"__ndarray__": [1, 2]},
    float("nan"),
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[repr(v)[:40] for v in HOSTILE_VALUES])
def test_hostile_values_raise_only_frame_error(value: object) -> None:
    with pytest.raises(_codec.FrameError):
        _codec.decode(value)


def test_deep_but_legitimate_values_still_round_trip() -> None:
    value: object = 1
    for _ in range(150):
        value = (value,)
    frame = _codec.dumps_frame(_codec.encode({"v": value}))
    assert _codec.decode(_codec.FrameReader().feed(frame)[0])["v"] == value


def test_event_and_hook_caps_are_violations() -> None:
    guard = JobGuard(Budgets(events=10, event_bytes=10_000), output_cap=100)
    kept = guard.take_events([{"kind": "audit", "event": "x"}] * 25, "events")
    assert len(kept) == 10
    assert guard.verdict(Status.OK) is Status.VIOLATION
    assert any(v["kind"] == "event_cap" for v in guard.violations)
    big = JobGuard(Budgets(), output_cap=100)
    big.take_events([{"kind": "audit", "event": "x"}] * HOOK_EVENT_CAP, "events")
    assert big.verdict(Status.OK) is Status.VIOLATION
    by_bytes = JobGuard(Budgets(event_bytes=1000), output_cap=100)
    by_bytes.take_events([{"kind": "audit", "args": ["x" * 600]}] * 3, "events")
    assert by_bytes.violated


def test_rpc_budget_refuses_the_flood() -> None:
    guard = JobGuard(Budgets(rpc_calls=3, rpc_bytes=10_000), output_cap=100)
    assert [guard.admit_rpc(10) for _ in range(5)] == [True, True, True, False, False]
    assert guard.verdict(Status.TIMEOUT) is Status.TIMEOUT  # a worse status stays
    assert guard.verdict(Status.OK) is Status.VIOLATION
    assert not JobGuard(Budgets(rpc_bytes=100), 100).reply_fits(1000)


def test_malformed_result_fields_are_protocol_violations() -> None:
    guard = JobGuard(Budgets(), output_cap=10)
    fields = guard.result_fields(
        {"status": ["ok"], "value": {"__tuple__": 5}, "error": {"x": 1}, "stdout": 5,
         "wall_s": float("nan"), "cpu_s": "fast", "truncated": "yes"}
    )  # fmt: skip
    assert fields["status"] is Status.VIOLATION and fields["value"] is None
    assert isinstance(fields["error"], str) and isinstance(fields["stdout"], str)
    assert fields["wall_s"] == 0.0 and fields["cpu_s"] == 0.0 and fields["truncated"] is False
    assert {v["kind"] for v in guard.violations} == {"protocol"}
    flood = JobGuard(Budgets(), output_cap=10)
    flood.result_fields({"status": "ok", "stdout": "x" * 10_000})
    assert flood.verdict(Status.OK) is Status.VIOLATION
    garbage = JobGuard(Budgets(), 10)
    assert garbage.verdict(garbage.result_fields("not a mapping")["status"]) is Status.VIOLATION


_NEVER_READS = "import time\ntime.sleep(30)\n"
_FLOODS_FIRST = (
    "import os, struct, json, sys\n"
    "body = json.dumps({'op': 'noise', 'pad': 'x' * 65536}).encode()\n"
    "frame = struct.pack('>I', len(body)) + body\n"
    "for _ in range(64):\n"
    "    os.write(1, frame)\n"
    "data = b''\n"
    "while len(data) < 4:\n"
    "    data += os.read(0, 4 - len(data))\n"
    "n = struct.unpack('>I', data)[0]\n"
    "while n:\n"
    "    n -= len(os.read(0, min(n, 1 << 20)))\n"
    "body = json.dumps({'op': 'got'}).encode()\n"
    "os.write(1, struct.pack('>I', len(body)) + body)\n"
)


def _worker(script: str) -> WorkerProcess:
    w = WorkerProcess([sys.executable, "-c", script], {"PATH": "/usr/bin:/bin"})
    import os
    import subprocess

    w.proc = subprocess.Popen(
        w.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=w.env, start_new_session=True
    )
    w.pid = w.proc.pid
    assert w.proc.stdin is not None and w.proc.stdout is not None
    os.set_blocking(w.proc.stdout.fileno(), False)
    os.set_blocking(w.proc.stdin.fileno(), False)
    return w


def test_a_send_to_a_worker_that_never_reads_has_a_deadline() -> None:
    w = _worker(_NEVER_READS)
    try:
        start = time.monotonic()
        with pytest.raises(WorkerDied, match="took no input"):
            w.send({"op": "job", "source": "x" * (4 << 20)}, timeout=1.0)
        assert time.monotonic() - start < 5
    finally:
        w.kill()


def test_sending_while_the_worker_floods_us_does_not_deadlock() -> None:
    """The worker writes 4 MB before it reads; a blocking harness write would wait forever."""
    w = _worker(_FLOODS_FIRST)
    try:
        w.send({"op": "job", "source": "y" * (4 << 20)}, timeout=10.0)
        ops = [w.recv(10.0)["op"] for _ in range(65)]
        assert ops[:64] == ["noise"] * 64 and ops[64] == "got"
        assert w.bytes_in > 4 << 20
    finally:
        w.kill()


def test_exec_json_answers_even_when_the_machinery_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stopbox.harness.cli import main
    from stopbox.harness.commands import exec_

    def broken(*a: object, **k: object) -> object:
        raise RuntimeError("the pool fell over")

    monkeypatch.setattr(exec_, "started", broken)
    f = tmp_path / "ok.py"
    f.write_text("def f():\n    return 1\n")
    code = main(["exec", str(f), "--entry", "f", "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert code == 2
    assert obj["status"] == "error" and "fell over" in obj["error"]
    assert obj["violations"] == [] and set(obj["layers"]) == {"applied", "missing"}
    code = main(["exec", str(tmp_path / "missing.py"), "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert code == 2 and obj["status"] == "error" and "no such file" in obj["error"]


def test_human_output_escapes_terminal_control_sequences() -> None:
    from stopbox.harness.commands.exec_ import _human
    from stopbox.harness.sandbox import ExecResult

    forged = "\x1b[2J\x1b[1;1Hstatus: ok (seccomp, 1.0 ms)\r\x9b2K\x1b]52;c;cHduZWQ=\x07"
    text = _human(
        ExecResult(
            Status.VIOLATION,
            value=forged,
            stdout=forged,
            stderr=forged,
            error=forged,
            violations=({"kind": "seccomp", "detail": forged},),
        ),  # fmt: skip
        "seccomp",
    )
    assert not any(c in text for c in "\x1b\r\x07\x9b")
    assert text.startswith("status: violation")
    lone = _human(ExecResult(Status.ERROR, error="bad \udc80 surrogate"), "seccomp")
    lone.encode("utf-8")  # printable: a lone surrogate from a job's traceback is escaped
