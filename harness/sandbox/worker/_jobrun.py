"""One job inside the worker: fork the confined child, drive calls, relay RPC, enforce limits.

Standalone (stdlib + the worker's siblings).  Time is measured here, on the trusted side of the
child's pipes; the child's own reports (cpu, rss) are advisory, the worker's wait4 is not.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import tempfile
import time
import traceback
from typing import Any

import _child
import _codec
import _confine

WORKER_DIR = os.path.dirname(os.path.abspath(__file__))
_STOPPED = object()
_ESCAPES = ("seccomp", "landlock", "sigsys")


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class JobRun:
    """One job: fork, drive calls, relay RPC, enforce time/output limits, collect the result."""

    def __init__(self, worker: Any, msg: dict[str, Any]) -> None:
        self.w = worker
        self.msg = msg
        limits = worker.config["limits"]
        self.output_cap = int(limits["output_bytes"])
        self.default_timeout = float(limits["call_timeout_s"])
        self.out = bytearray()
        self.err = bytearray()
        self.truncated = False
        self.events: list[dict[str, Any]] = []
        self.violations: list[dict[str, Any]] = []
        self.pid = 0
        self.dead: str | None = None  # why the job ended, once it has
        self.wait_status: int | None = None
        self.rusage: Any = None
        self.statuses: list[str] = []
        self.job_start = time.monotonic()
        self.cpu_s = 0.0
        self.max_rss = 0.0

    # --- process life --------------------------------------------------------------------------
    def spawn(self) -> None:
        w = self.w
        self.workdir = tempfile.mkdtemp(prefix="stopbox-job-", dir=w.jobs_dir)
        c_in_r, c_in_w = os.pipe()
        c_out_r, c_out_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        job = {
            "source": self.msg.get("source", ""),
            "filename": self.msg.get("filename", "candidate.py"),
            "as_script": bool(self.msg.get("as_script")),
            "allow_imports": w.config["allow_imports"],
            "readable": w.read_paths,
            "writable": [self.workdir, *w.config["paths"]["write"]],
        }
        pid = os.fork()
        if pid == 0:  # the job process
            try:
                _child.enter(job, (c_in_r, c_out_w, out_w, err_w), self.workdir, w)
            except BaseException:  # noqa: B036 - never return into the worker loop
                traceback.print_exc()
            os._exit(70)
        self.pid = pid
        for fd in (c_in_r, c_out_w, out_w, err_w):
            os.close(fd)
        self.to_child = c_in_w
        self.fds = {"chan": c_out_r, "out": out_r, "err": err_r}
        self.chan_reader = _codec.FrameReader()
        self.sel = selectors.DefaultSelector()
        for name, fd in self.fds.items():
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, name)
        self.sel.register(w.in_fd, selectors.EVENT_READ, "harness")

    def kill(self, why: str) -> None:
        if self.dead is None:
            self.dead = why
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def reap(self) -> None:
        if self.wait_status is not None or not self.pid:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        _, status, ru = os.wait4(self.pid, 0)
        self.wait_status = status
        self.cpu_s = max(self.cpu_s, ru.ru_utime + ru.ru_stime)
        self.max_rss = max(self.max_rss, ru.ru_maxrss / 1024.0)

    # --- I/O ------------------------------------------------------------------------------------
    def _drain(self, name: str, fd: int) -> int:
        """Read what is available: bytes read, 0 when nothing is ready, -1 at EOF."""
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return 0
        if not data:
            if fd in self.sel.get_map():
                self.sel.unregister(fd)
            return -1
        if name in ("out", "err"):
            buf = self.out if name == "out" else self.err
            room = self.output_cap - len(self.out) - len(self.err)
            buf += data[: max(room, 0)]
            if len(data) > room and not self.truncated:
                self.truncated = True
                self.violations.append(
                    {"kind": "output_cap", "detail": f"output exceeded {self.output_cap} bytes"}
                )
                self.kill("output_cap")
        return len(data)

    def _event(self, event: Any) -> None:
        if not isinstance(event, dict) or len(self.events) >= 1000:
            return
        event = {k: v for k, v in event.items() if isinstance(k, str)}
        self.events.append(event)
        name = str(event.get("event", ""))
        syscall = _confine.EVENT_SYSCALLS.get(name) or (
            "execve" if name.startswith("os.exec") else None
        )
        sc = self.w.config["syscalls"]
        if syscall and syscall in _confine.deny_set(sc["deny"], sc["allow"]):
            self.violations.append(
                {"kind": "seccomp", "detail": f"{syscall} denied ({name})", "syscall": syscall}
            )
        elif name == "open" and event.get("kind") == "audit":
            self.violations.append(
                {
                    "kind": "landlock",
                    "detail": "open outside the allowed paths",
                    "path": str((event.get("args") or ["?"])[0]).strip("'\""),
                }
            )

    def wait_for(self, want: str, timeout: float | None) -> Any:
        """Pump every fd until the child sends ``want``; relay RPC; _STOPPED when the job died."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.dead is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                self.violations.append(
                    {"kind": "timeout", "detail": f"call exceeded {timeout:g} s"}
                )
                self.kill("timeout")
                break
            for key, _ in self.sel.select(left):
                name = key.data
                if name == "harness":
                    self._from_harness()
                    continue
                if name != "chan":
                    self._drain(name, key.fd)
                    continue
                try:
                    data = os.read(key.fd, 1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    self.sel.unregister(key.fd)
                    self.dead = self.dead or "exited"
                    break
                try:
                    msgs = self.chan_reader.feed(data)
                except _codec.FrameError as exc:
                    self.violations.append({"kind": "protocol", "detail": str(exc)})
                    self.kill("protocol")
                    break
                for msg in msgs:
                    op = msg.get("op") if isinstance(msg, dict) else None
                    if op == "event":
                        self._event(msg.get("event"))
                    elif op == "rpc":
                        self.w.send(
                            {k: msg.get(k) for k in ("op", "obj", "method", "args", "kwargs")}
                        )
                    elif op == want:
                        return msg
                    elif op not in ("loaded", "result"):
                        self.violations.append(
                            {"kind": "protocol", "detail": f"unexpected frame {op!r}"}
                        )
                        self.kill("protocol")
                        break
        return _STOPPED

    def _from_harness(self) -> None:
        data = os.read(self.w.in_fd, 1 << 20)
        if not data:
            self.kill("harness gone")
            raise SystemExit(0)
        for msg in self.w.in_reader.feed(data):
            if msg.get("op") == "rpc_reply":
                try:
                    _codec.write_frame(self.to_child, msg)
                except OSError:
                    pass
            else:
                self.w.inbox.append(msg)

    def _settle(self) -> None:
        """After the child is gone: wait for it, then drain its pipes to EOF."""
        self.reap()
        for name in ("out", "err"):
            self._drain_all(name, wait=0.2)

    def _drain_all(self, name: str, wait: float) -> None:
        fd = self.fds[name]
        while fd in self.sel.get_map():
            got = self._drain(name, fd)
            if got < 0:
                break
            if got == 0:
                ready = selectors.DefaultSelector()
                ready.register(fd, selectors.EVENT_READ)
                try:
                    if not ready.select(wait):
                        break
                finally:
                    ready.close()

    def death_result(self) -> dict[str, Any]:
        self._settle()
        status = self.wait_status or 0
        why = self.dead
        if why == "timeout":
            return {"status": "timeout", "error": "call timed out; job killed"}
        if why == "output_cap":
            return {"status": "killed", "error": "output cap exceeded; job killed"}
        if why == "protocol":
            return {"status": "violation", "error": "protocol violation; job killed"}
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = _signal_name(sig)
            if sig == signal.SIGSYS:
                self.violations.append({"kind": "sigsys", "detail": "killed by SIGSYS"})
                return {"status": "violation", "error": "killed by SIGSYS (denied syscall)"}
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and self._cpu_exhausted()):
                self.violations.append({"kind": "rlimit", "detail": "CPU limit", "limit": "cpu"})
                return {"status": "timeout", "error": f"CPU limit reached ({name})"}
            if sig == signal.SIGXFSZ:
                self.violations.append({"kind": "rlimit", "detail": "file size", "limit": "fsize"})
                return {"status": "violation", "error": "file size limit reached (SIGXFSZ)"}
            return {"status": "killed", "error": f"job killed by {name}"}
        code = os.waitstatus_to_exitcode(status) if status else 0
        return {"status": "error", "error": f"job process exited with code {code}"}

    def _cpu_exhausted(self) -> bool:
        return self.cpu_s >= float(self.w.config["limits"]["cpu_s"]) - 0.05

    # --- driving ----------------------------------------------------------------------------------
    def result(self, child: Any, start: float, out0: int, err0: int) -> dict[str, Any]:
        wall = time.monotonic() - start
        if child is _STOPPED:
            res = self.death_result()
        else:
            res = {k: child.get(k) for k in ("status", "value", "error", "exc_type") if k in child}
            if res.get("status") not in ("ok", "error", "memory"):
                res["status"] = "error"
            for k in ("cpu_s", "max_rss_mb"):
                if isinstance(child.get(k), int | float):
                    res[k] = float(child[k])
            self.max_rss = max(self.max_rss, float(res.get("max_rss_mb", 0.0)))
            self._poll_output()
        if res["status"] == "memory":
            self.violations.append({"kind": "memory", "detail": "memory limit reached"})
        if res["status"] in ("ok", "error") and any(
            v.get("kind") in _ESCAPES for v in self.violations
        ):
            res["status"] = "violation"  # a denied escape attempt, even if the code went on
        self.statuses.append(res["status"])
        res.update(
            wall_s=wall,
            truncated=self.truncated,
            stdout=self.out[out0:].decode("utf-8", "backslashreplace"),
            stderr=self.err[err0:].decode("utf-8", "backslashreplace"),
        )
        return res

    def _poll_output(self) -> None:
        for name in ("out", "err"):
            self._drain_all(name, wait=0.0)

    def run(self) -> None:
        start = time.monotonic()
        try:
            self.spawn()
        except OSError as exc:
            self.w.send(
                {
                    "op": "loaded",
                    "result": {
                        "status": "error",
                        "wall_s": 0.0,
                        "error": f"could not start the job: {exc}",
                    },
                }
            )
            return
        try:
            timeout = self.msg.get("timeout") or float(self.w.config["limits"]["wall_s"])
            child = self.wait_for("loaded", float(timeout))
            self.w.send(
                {"op": "loaded", "result": self.result(child, start, 0, 0), **self._job_extras()}
            )
            while True:
                msg = self.w.recv()
                op = msg.get("op")
                if op == "close":
                    break
                if op != "call":
                    continue
                out0, err0 = len(self.out), len(self.err)
                t0 = time.monotonic()
                if self.dead is not None:
                    res = {
                        "status": "error",
                        "error": f"job already ended ({self.dead})",
                        "wall_s": 0.0,
                    }
                else:
                    keys = ("entry", "args", "kwargs")
                    self._to_child({"op": "call", **{k: msg.get(k) for k in keys}})
                    child = self.wait_for(
                        "result", float(msg.get("timeout") or self.default_timeout)
                    )
                    res = self.result(child, t0, out0, err0)
                self.w.send({"op": "result", "result": res, **self._job_extras()})
        finally:
            self.finish(start)

    def _to_child(self, msg: dict[str, Any]) -> None:
        try:
            _codec.write_frame(self.to_child, msg)
        except OSError:  # the job process is gone; wait_for reports how it ended
            self.dead = self.dead or "exited"

    def _job_extras(self) -> dict[str, Any]:
        extras = {"events": self.events, "violations": self.violations}
        self.events, self.violations = [], []
        return extras

    def finish(self, start: float) -> None:
        self.kill(self.dead or "closed")
        self._settle()
        for fd in (self.to_child, *self.fds.values()):
            try:
                os.close(fd)
            except OSError:
                pass
        self.sel.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.w.send(
            {
                "op": "closed",
                "result": {
                    "wall_s": time.monotonic() - start,
                    "cpu_s": self.cpu_s,
                    "max_rss_mb": self.max_rss,
                    "stdout": self.out.decode("utf-8", "backslashreplace"),
                    "stderr": self.err.decode("utf-8", "backslashreplace"),
                    "truncated": self.truncated,
                    "statuses": self.statuses,
                },
                **self._job_extras(),
            }
        )
