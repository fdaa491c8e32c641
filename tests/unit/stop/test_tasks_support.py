"""Sandbox access for the task tests (no tests here; imported by the other test_tasks* modules).

``task_sandbox()`` gives the real ``seccomp`` backend when it is available.  Until then (or when
it cannot start here) it gives :class:`SubprocessSandbox`: each job is a separate Python
subprocess started by the test, speaking JSON lines with the real wire codec
(harness/sandbox/_codec.py), so solutions never run in the test process and values cross the
boundary exactly as encoded values do.  It is NOT a security boundary, only a stand-in for the
scoring pipeline.  When ``STOPBOX_REQUIRE_BACKENDS`` lists seccomp, an unavailable seccomp backend
is a failure, not a fallback.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stopbox.harness.policy import load_policy
from stopbox.harness.sandbox._base import ExecResult, Job, RpcHandler, Sandbox, Status

CODEC_DIR = Path(__file__).resolve().parents[3] / "harness" / "sandbox"

_WORKER = r"""
import json, os, sys, traceback
sys.path.insert(0, sys.argv[1])
import _codec
channel = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
namespace = {"__name__": "candidate"}
for line in sys.stdin:
    request = json.loads(line)
    try:
        if request["op"] == "load":
            exec(compile(request["source"], request["filename"], "exec"), namespace)
            reply = {"status": "ok", "value": None}
        else:
            function = namespace[request["entry"]]
            value = function(*_codec.decode(request["args"]))
            reply = {"status": "ok", "value": _codec.encode(value)}
    except BaseException:
        reply = {"status": "error", "error": traceback.format_exc()}
    channel.write(json.dumps(reply, allow_nan=False) + "\n")
    channel.flush()
"""


def _codec() -> Any:
    sys.path.insert(0, str(CODEC_DIR))
    try:
        import _codec  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(CODEC_DIR))
    return _codec


class SubprocessJob(Job):
    def __init__(self, sandbox: SubprocessSandbox, source: str, filename: str) -> None:
        self._codec = _codec()
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-I", "-c", _WORKER, str(CODEC_DIR)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd="/tmp",
            env={"PATH": os.environ.get("PATH", "")},
        )
        sandbox.processes.append(self._proc)
        self.load_result = self._request(
            {"op": "load", "source": source, "filename": filename}, timeout=30.0
        )

    def _request(self, message: dict[str, Any], timeout: float | None) -> ExecResult:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return ExecResult(Status.KILLED, error="job already ended")
        line = json.dumps(message, allow_nan=False)
        assert proc.stdin is not None and proc.stdout is not None
        start = time.monotonic()
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout)
        wall = time.monotonic() - start
        if not ready:
            self._kill()
            return ExecResult(Status.TIMEOUT, wall_s=wall, error=f"timed out after {timeout} s")
        reply_line = proc.stdout.readline()
        wall = time.monotonic() - start
        if not reply_line:
            self._kill()
            return ExecResult(Status.KILLED, wall_s=wall, error="worker died")
        reply = json.loads(reply_line)
        if reply["status"] != "ok":
            return ExecResult(Status.ERROR, wall_s=wall, error=reply["error"])
        return ExecResult(Status.OK, value=self._codec.decode(reply["value"]), wall_s=wall)

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def call(
        self,
        entry: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        encoded = self._codec.encode(list(args))
        return self._request({"op": "call", "entry": entry, "args": encoded}, timeout)

    def close(self) -> ExecResult:
        self._kill()
        return ExecResult(Status.OK)


class SubprocessSandbox(Sandbox):
    """Stand-in backend for the scoring pipeline (a subprocess per job, not a security boundary)."""

    name = "test-subprocess"

    def __init__(self) -> None:
        super().__init__(load_policy())
        self.processes: list[subprocess.Popen[str]] = []

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def start(self) -> None:
        pass

    def job(
        self,
        source: str,
        *,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        as_script: bool = False,
    ) -> Job:
        return SubprocessJob(self, source, filename)

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


class RecordingJob(Job):
    def __init__(self, owner: RecordingSandbox, inner: Job) -> None:
        self._owner, self._inner = owner, inner
        self.load_result = inner.load_result

    def call(
        self,
        entry: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        self._owner.calls.append((entry, list(args), timeout))
        return self._inner.call(entry, args, kwargs, timeout)

    def close(self) -> ExecResult:
        self._owner.closed += 1
        return self._inner.close()


class RecordingSandbox(Sandbox):
    """Wraps a backend and records everything the scoring driver sends into it."""

    name = "test-recording"

    def __init__(self, inner: Sandbox) -> None:
        super().__init__(inner.policy)
        self.inner = inner
        self.sources: list[tuple[str, str]] = []
        self.calls: list[tuple[str, list[Any], float | None]] = []
        self.closed = 0

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def start(self) -> None:
        pass

    def job(
        self,
        source: str,
        *,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        as_script: bool = False,
    ) -> Job:
        self.sources.append((source, filename))
        return RecordingJob(self, self.inner.job(source, filename=filename, rpc=rpc))

    def close(self) -> None:
        pass


def _seccomp_reason() -> str | None:
    try:
        from stopbox.harness.sandbox import available_backends

        return available_backends().get("seccomp", "seccomp backend is not registered")
    except Exception as exc:  # the backend module may not exist yet
        return f"seccomp backend cannot be imported: {exc}"


@contextmanager
def task_sandbox() -> Iterator[Sandbox]:
    """The real seccomp backend when available, else the subprocess stand-in (reason printed)."""
    required = os.environ.get("STOPBOX_REQUIRE_BACKENDS", "").split(",")
    reason = _seccomp_reason()
    if reason is None:
        from stopbox.harness.sandbox import started

        with started("seccomp", load_policy()) as sandbox:
            yield sandbox
        return
    if "seccomp" in required:
        raise AssertionError(f"STOPBOX_REQUIRE_BACKENDS lists seccomp but: {reason}")
    print(f"task tests: seccomp unavailable ({reason}); using the subprocess stand-in")
    sandbox = SubprocessSandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()
