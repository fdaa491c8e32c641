"""One launched worker process and the frame channel to it (trusted side)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any

from stopbox.harness.sandbox import _codec

__all__ = ["WorkerDied", "WorkerProcess"]


class WorkerDied(Exception):
    """The worker's channel closed or carried garbage."""


class WorkerProcess:
    """A worker subprocess (any launcher: python, runsc, docker) speaking frames on stdin/stdout."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv, self.env = argv, env
        self._stderr = tempfile.TemporaryFile()
        self.proc: subprocess.Popen[bytes] | None = None
        self._reader = _codec.FrameReader()
        self._inbox: list[Any] = []
        self._send_lock = threading.Lock()
        self.pid = 0
        self.jobs_dir: str | None = None
        """The worker's private tmpfs mount point (an empty directory here once it is gone)."""

    def start(self, config: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=self.env,
            start_new_session=True,
            close_fds=True,
        )
        self.pid = self.proc.pid
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.send({"op": "init", "config": config})
        ready = self.recv(timeout)
        if ready.get("op") != "ready":
            raise WorkerDied(f"expected ready, got {ready.get('op')!r}")
        jobs_dir = ready.get("jobs_dir")
        if isinstance(jobs_dir, str) and os.path.basename(jobs_dir).startswith(
            f"stopbox-jobs-{os.getpid()}-"
        ):
            self.jobs_dir = jobs_dir
        return dict(ready)

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        data = _codec.dumps_frame(msg)
        try:
            with self._send_lock:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise WorkerDied(f"cannot write to worker: {exc}") from None

    def recv(self, timeout: float | None) -> Any:
        """Next frame; TimeoutError when the worker says nothing for ``timeout`` seconds."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not self._inbox:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no answer from the worker for {timeout:g} s")
                if not sel.select(left):
                    continue
                try:
                    data = os.read(fd, 1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    raise WorkerDied(f"worker exited ({self.stderr_tail()})")
                try:
                    self._inbox.extend(self._reader.feed(data))
                except _codec.FrameError as exc:
                    raise WorkerDied(f"malformed frame from worker: {exc}") from None
        msg = self._inbox.pop(0)
        if not isinstance(msg, dict):
            raise WorkerDied("malformed frame from worker")
        return msg

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - limit))
            return self._stderr.read().decode("utf-8", "replace").strip() or "no stderr"
        except (OSError, ValueError):
            return "no stderr"

    def stop(self) -> None:
        """Ask the worker to exit, then make sure its whole process group is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.send({"op": "exit"})
                self.proc.wait(timeout=2)
            except (WorkerDied, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.jobs_dir is not None:
            try:
                os.rmdir(self.jobs_dir)
            except OSError:
                pass
            self.jobs_dir = None
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._stderr.close()
