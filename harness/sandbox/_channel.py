"""One launched worker process and the frame channel to it (trusted side).

Both directions are non-blocking with deadlines: a send queues its frame and flushes it while
also reading what the worker sends (so harness and worker can never block on each other's pipe
writes), and gives up with :class:`WorkerDied` when the worker takes no bytes for
``WRITE_TIMEOUT_S``; a receive gives up with :class:`TimeoutError`.  The caller treats both as a
wedged worker: it is killed and replaced, and its job is reported.
"""

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

__all__ = ["WorkerDied", "WorkerProcess", "WRITE_TIMEOUT_S"]

WRITE_TIMEOUT_S = 10.0
"""Longest a send may wait for the worker to take bytes before the worker counts as wedged."""
MAX_OUTBOX = 2 * _codec.MAX_FRAME
"""Bytes queued to the worker at most (a send beyond this is a harness bug, refused)."""
MAX_INBOX = 2 * _codec.MAX_FRAME
"""Bytes of received frames held at most while a send waits; beyond it the send stops reading
(the worker then blocks too, and the send's deadline ends it: bounded memory either way)."""


class WorkerDied(Exception):
    """The worker's channel closed or carried garbage."""


class WorkerProcess:
    """A worker subprocess (any launcher: python, runsc, docker) speaking frames on stdin/stdout."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv, self.env = argv, env
        self._stderr = tempfile.TemporaryFile()
        self.proc: subprocess.Popen[bytes] | None = None
        self._reader = _codec.FrameReader()
        self._inbox: list[tuple[Any, int]] = []
        self._inbox_bytes = 0
        self._outbox = bytearray()
        self._io_lock = threading.RLock()
        self.bytes_in = 0
        """Bytes of frames received so far (callers budget a job by the difference)."""
        self.last_size = 0
        """Size in bytes of the frame :meth:`recv` returned last."""
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
        assert self.proc.stdin is not None
        os.set_blocking(self.proc.stdin.fileno(), False)
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

    def send(self, msg: dict[str, Any], timeout: float = WRITE_TIMEOUT_S) -> None:
        """Queue one frame and flush it; frames the worker sends meanwhile are kept for recv.

        WorkerDied when the worker is gone, takes no bytes for ``timeout`` seconds, or the
        message cannot be framed."""
        try:
            data = _codec.dumps_frame(msg)
        except _codec.FrameError as exc:
            raise WorkerDied(f"cannot frame a message for the worker: {exc}") from None
        with self._io_lock:
            if len(self._outbox) + len(data) > MAX_OUTBOX:
                raise WorkerDied("the worker does not take its input (outbox full)")
            self._outbox += data
            self._pump(until_sent=True, timeout=timeout)

    def recv(self, timeout: float | None) -> Any:
        """Next frame (a dict); TimeoutError when the worker says nothing for ``timeout`` s."""
        with self._io_lock:
            if not self._inbox:
                self._pump(until_sent=False, timeout=timeout)
            msg, self.last_size = self._inbox.pop(0)
            self._inbox_bytes -= self.last_size
        if not isinstance(msg, dict):
            raise WorkerDied("malformed frame from worker (not an object)")
        return msg

    def _pump(self, *, until_sent: bool, timeout: float | None) -> None:
        """Move bytes both ways until the outbox is empty (``until_sent``) or a frame arrived.

        Every wait has a deadline: ``timeout`` counts from the last progress on the pipe the
        caller waits for (bytes taken by the worker, or a frame received)."""
        assert self.proc is not None and self.proc.stdout is not None
        assert self.proc.stdin is not None
        rfd, wfd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            reading = writing = False
            while self._outbox if until_sent else not self._inbox:
                if (self._inbox_bytes < MAX_INBOX or not until_sent) != reading:
                    reading = not reading
                    if reading:
                        sel.register(rfd, selectors.EVENT_READ)
                    else:
                        sel.unregister(rfd)
                if bool(self._outbox) != writing:
                    writing = bool(self._outbox)
                    if writing:
                        sel.register(wfd, selectors.EVENT_WRITE)
                    else:
                        sel.unregister(wfd)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    if until_sent:
                        raise WorkerDied(f"the worker took no input for {timeout:g} s")
                    raise TimeoutError(f"no answer from the worker for {timeout:g} s")
                for key, _ in sel.select(left):
                    if key.fd == wfd:
                        if self._write_some(wfd) and until_sent and deadline is not None:
                            deadline = time.monotonic() + float(timeout or 0)
                    else:
                        self._read_some(rfd)

    def _write_some(self, fd: int) -> int:
        try:
            n = os.write(fd, self._outbox[: 1 << 20])
        except BlockingIOError:
            return 0
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(f"cannot write to worker: {exc}") from None
        del self._outbox[:n]
        return n

    def _read_some(self, fd: int) -> None:
        try:
            data = os.read(fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError as exc:
            raise WorkerDied(f"cannot read from worker: {exc}") from None
        if not data:
            raise WorkerDied(f"worker exited ({self.stderr_tail()})")
        self.bytes_in += len(data)
        try:
            frames = self._reader.feed_sized(data)
        except _codec.FrameError as exc:
            raise WorkerDied(f"malformed frame from worker: {exc}") from None
        self._inbox.extend(frames)
        self._inbox_bytes += sum(size for _, size in frames)

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
                self.send({"op": "exit"}, timeout=2.0)
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
