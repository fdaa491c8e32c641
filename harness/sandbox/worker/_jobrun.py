"""One job inside the worker: fork the confined child, drive calls, relay RPC, enforce limits.

Standalone (stdlib + the worker's siblings).  Time is measured here, on the trusted side of the
child's pipes; the child's own reports (cpu, rss) are advisory, the worker's wait4 is not.
"""

from __future__ import annotations

import json
import os
import select
import selectors
import signal
import socket
import tempfile
import time
import traceback
from typing import Any

import _cgroup
import _child
import _codec
import _confine
import _profile

WORKER_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_EVENTS = 1000
MAX_EVENT_BYTES = 256 * 1024
MAX_CHANNEL_BYTES = 512 * 1024 * 1024
"""Per-job budgets, counted by the worker (trusted): reaching one is a violation."""
CHILD_WRITE_S = 5.0
"""How long the job may leave a frame for it unread before it is killed."""


_RESULT_FIELDS = {
    "status": (str,),
    "error": (str, type(None)),
    "exc_type": (str, type(None)),
    "cpu_s": (int, float),
    "max_rss_mb": (int, float),
    "child_wall_s": (int, float),
}


def _bad_fields(msg: dict[str, Any]) -> str | None:
    """Why a loaded/result frame's fields are not what the child sends (None: they are)."""
    for key, types in _RESULT_FIELDS.items():
        if key in msg and not isinstance(msg[key], types):
            return f"field {key!r} is {type(msg[key]).__name__}"
    if msg.get("status") not in ("ok", "error", "memory"):
        return f"status {str(msg.get('status'))[:40]!r}"
    return None


def _invalid_value(data: Any) -> str | None:
    """Why a value from the job could not cross to the harness (None: it can): decodable by
    the codec, finite floats only, nested at most as deep as the codec allows."""
    try:
        _codec.decode(data)
        json.dumps(data, allow_nan=False)
    except Exception as exc:  # anything the job made up is a reason, never our crash
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


_STOPPED = object()
_ESCAPES = ("seccomp", "landlock", "sigsys")


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class JobRun:
    """One job: fork, drive calls, relay RPC, enforce time/output limits, collect the result."""

    def __init__(self, worker: Any, msg: dict[str, Any] | None = None) -> None:
        self.w = worker
        self.msg = msg or {}
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
        self.event_count = 0
        self.event_bytes = 0
        self.chan_bytes = 0
        self.rpc_pending = False
        self.cgroup: int | None = None  # the job's cgroup number at the launcher
        self.marks = _profile.Marks() if getattr(worker, "profile", False) else None
        self.preforked = False

    def mark(self, name: str) -> None:
        if self.marks is not None:
            self.marks(name)

    # --- process life --------------------------------------------------------------------------
    def spawn(self) -> None:
        w = self.w
        self.fallback_dir: str | None = None
        if w.config.get("job_ns"):
            self.workdir = _confine.SCRATCH  # a fresh tmpfs in the job's own mount namespace
        else:  # degraded (reported as missing layers): a directory of the worker's
            self.workdir = self.fallback_dir = tempfile.mkdtemp(prefix="stopbox-job-")
        # Forked by the zygote, which never held any job's data: nothing of an earlier job is in
        # this job's inherited memory.
        self.mark("spawn0")
        self.z = w.pick_zygote()
        if self.z is getattr(w, "standby_from", None):
            w.standby_from = None  # its child is made now, for this job
        if not (self.z.pending or self.z.ready is not None):
            w.bury(block=True, zygote=self.z)  # its cgroup holds one job at a time
        pid, (c_in_w, c_out_r, out_r, err_r, mon_r), self.cgroup = self.z.spawn(self.workdir)
        self.mark("spawn1")
        if self.marks is not None:
            self.marks.zygote = {"in_zygote": self.z.fork_ms}
        self.pid = pid
        self.to_child = c_in_w
        os.set_blocking(c_in_w, False)
        self.fds = {"chan": c_out_r, "out": out_r, "err": err_r, "monitor": mon_r}
        self.monitor_buf = b""
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
        z = self.z
        if self.dead == "exited":  # the job ended by itself: let its reaper report how
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                got = z.wait(self.pid, nohang=True)
                if got is not None:
                    self._reaped(*got)
                    return
                time.sleep(0.001)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        got = z.wait(self.pid, nohang=False)
        self._reaped(*(got or (0, 0.0, 0.0)))

    def _reap_strays(self) -> None:
        """The worker is pid 1 of its pid namespace: a job process whose reaper died first is
        re-parented here.  Kill the job's process group until it is empty, reaping (bounded)."""
        deadline = time.monotonic() + 2.0
        while True:
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                pass
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                return  # nothing of the job is left
            except OSError:
                return
            if time.monotonic() > deadline:
                return
            time.sleep(0.002)

    def _reaped(self, status: int, cpu_s: float, maxrss_kb: float) -> None:
        self.wait_status = status
        self.cpu_s = max(self.cpu_s, cpu_s)
        self.max_rss = max(self.max_rss, maxrss_kb / 1024.0)

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
        if name == "monitor":
            self._monitor(data)
        elif name in ("out", "err"):
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

    def _monitor(self, data: bytes) -> None:
        """Records of the denial monitor (the job's reaper, outside the job; trusted): each
        denial after untrusted code started is a violation, earlier ones start-up events."""
        self.monitor_buf += data
        *lines, self.monitor_buf = self.monitor_buf.split(b"\n")
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if "path" in rec and not rec.get("startup"):
                what = f"{rec.get('syscall')} outside the writable paths"
                if rec.get("denied"):  # seen at syscall exit: the path the check read differed
                    what = f"{rec.get('syscall')} denied ({rec['denied']}) by the kernel"
                self.violations.append({"kind": "landlock", "path": str(rec["path"])[:500],
                                        "detail": f"{what} (seen by the monitor outside the job)",
                                        "syscall": rec.get("syscall"),
                                        "source": "monitor"})  # fmt: skip
            elif "syscall" in rec and not rec.get("startup"):
                self.violations.append({"kind": "seccomp", "detail": f"{rec['syscall']} denied "
                                        "(seen by the monitor outside the job)",
                                        "syscall": rec["syscall"], "nr": rec.get("nr"),
                                        "source": "monitor"})  # fmt: skip
            elif "syscall" in rec:
                self.events.append({"kind": "sandbox", "event": "startup_denial", **rec})
            elif "capped" in rec and not rec.get("startup"):
                self.violations.append(
                    {
                        "kind": "seccomp",
                        "detail": f"more than {rec['capped']} denied syscalls (records capped)",
                        "source": "monitor",
                    }
                )
            elif "monitor_error" in rec:
                self.violations.append({"kind": "monitor", "detail": str(rec["monitor_error"])})

    def _event(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        try:
            size = len(json.dumps(event, allow_nan=False))
        except (TypeError, ValueError, RecursionError):
            self._violation("protocol", "malformed event frame")
            return
        self.event_count += 1
        self.event_bytes += size
        if self.event_count > MAX_EVENTS or self.event_bytes > MAX_EVENT_BYTES:
            # counted here, in trusted code: a job cannot flood the monitor quietly
            self._violation("event_cap", f"more than {MAX_EVENTS} events or "
                            f"{MAX_EVENT_BYTES} bytes of events")  # fmt: skip
            return
        event = {k: v for k, v in event.items() if isinstance(k, str)}
        if self.marks is not None and event.get("event") == "layers":
            self.marks.layers_event(event)
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
            if self.w.inbox:
                self._pass_replies()  # replies read while the worker was writing
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
                    if self.chan_reader.pending:
                        self._violation("protocol", "the job's channel ended inside a frame")
                    self.dead = self.dead or "exited"
                    break
                self.chan_bytes += len(data)
                if self.chan_bytes > MAX_CHANNEL_BYTES:
                    self._violation("channel_budget", f"more than {MAX_CHANNEL_BYTES} bytes of "
                                    "frames from the job")  # fmt: skip
                    break
                try:
                    msgs = self.chan_reader.feed(data)
                except Exception as exc:  # FrameError, RecursionError, MemoryError ...
                    self._violation("protocol", f"malformed frame: {type(exc).__name__}: {exc}")
                    break
                for msg in msgs:
                    op = msg.get("op") if isinstance(msg, dict) else None
                    if op == "event":
                        self._event(msg.get("event"))
                    elif op == "rpc":
                        self._relay_rpc(msg)
                    elif op == want:
                        bad = _invalid_value(msg.get("value")) or _bad_fields(msg)
                        if bad is None:
                            return msg
                        self._violation("protocol", f"unacceptable result value: {bad}")
                    elif op not in ("loaded", "result"):
                        self._violation("protocol", f"unexpected frame {str(op)[:80]!r}")
                    if self.dead is not None:
                        break
        return _STOPPED

    def _from_harness(self) -> None:
        data = os.read(self.w.in_fd, 1 << 20)
        if not data:
            self.kill("harness gone")
            raise SystemExit(0)
        self.w.inbox.extend(self.w.in_reader.feed(data))
        self._pass_replies()

    def _pass_replies(self) -> None:
        """Hand RPC replies waiting in the worker's inbox to the child (others stay queued)."""
        keep = []
        for msg in self.w.inbox:
            if isinstance(msg, dict) and msg.get("op") == "rpc_reply":
                self.rpc_pending = False
                self._to_child(msg)
            else:
                keep.append(msg)
        self.w.inbox[:] = keep

    def _relay_rpc(self, msg: dict[str, Any]) -> None:
        if self.rpc_pending:  # one call at a time: a flood of RPC frames is a protocol breach
            self._violation("protocol", "a second RPC before the reply to the first")
            return
        frame = {k: msg.get(k) for k in ("op", "obj", "method", "args", "kwargs")}
        if not isinstance(frame["obj"], str) or not isinstance(frame["method"], str):
            self._violation("protocol", "malformed RPC frame")
            return
        bad = _invalid_value(frame["args"]) or _invalid_value(frame["kwargs"])
        if bad is not None:
            self._violation("protocol", f"unacceptable RPC arguments: {bad}")
            return
        self.rpc_pending = True
        self.w.send(frame)

    def _violation(self, kind: str, detail: str) -> None:
        """A breach seen by trusted code: recorded, and the job ends (status violation)."""
        self.violations.append({"kind": kind, "detail": detail})
        self.kill("protocol")

    def _settle(self) -> None:
        """After the child is gone: wait for it, then drain its pipes to EOF."""
        self.reap()
        for name in ("out", "err", "monitor"):
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
            last = self.violations[-1] if self.violations else {"kind": "protocol", "detail": "?"}
            return {"status": "violation", "error": f"{last['kind']}: {last['detail']}; job killed"}
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = _signal_name(sig)
            if sig == signal.SIGKILL and self._oom_killed():
                return {"status": "memory", "error": "memory limit reached (the job's cgroup, "
                        "tmpfs pages included); job killed"}  # fmt: skip
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

    def _oom_killed(self) -> bool:
        """Did the kernel OOM-kill a process of this job's cgroup?  Asked of the launcher,
        which reads memory.oom_control / memory.events from outside the job."""
        if self.cgroup is None or self.w.cgroups is None:
            return False
        return bool(self.w.cgroups.ask({"op": "stat", "n": self.cgroup}).get("oom"))

    def _cpu_exhausted(self) -> bool:
        # the kernel's SIGKILL at the hard limit is checked per tick against the thread group's
        # time, which wait4's rusage can under-report by a tick or two
        return self.cpu_s >= float(self.w.config["limits"]["cpu_s"]) * 0.8 - 0.05

    # --- driving ----------------------------------------------------------------------------------
    def result(self, child: Any, start: float, out0: int, err0: int) -> dict[str, Any]:
        wall = time.monotonic() - start
        self._drain_all("monitor", wait=0.0)  # denials recorded before the result was sent
        if child is _STOPPED:
            res = self.death_result()
        else:
            res = {k: child.get(k) for k in ("status", "value", "error", "exc_type") if k in child}
            for k in ("error", "exc_type"):
                if k in res and not isinstance(res[k], str | None):
                    res[k] = str(res[k])[:20000]
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

    def run(self, msg: dict[str, Any] | None = None) -> None:
        """Load the job's source, answer the harness's calls until ``close``, clean up."""
        if msg is not None:
            self.msg = msg
        self.mark("job")
        start = time.monotonic()
        if not self._start():
            return
        try:
            self._load(start)
            while True:
                msg = self.w.recv()
                if msg.get("op") == "close":
                    break
                if msg.get("op") == "call":
                    self.w.send({"op": "result", "result": self._call(msg), **self._job_extras()})
                    self.mark("result_sent")
        finally:
            self.finish(start)

    def _start(self) -> bool:
        """The job's processes (pre-forked or now); False (and the harness told) when they
        could not be made."""
        try:
            if not self.pid:
                self.spawn()
        except OSError as exc:
            failed = {"status": "error", "wall_s": 0.0, "error": f"could not start the job: {exc}"}
            self.w.send({"op": "loaded", "result": failed})
            return False
        return True

    def _load(self, start: float) -> None:
        timeout = self.msg.get("timeout") or float(self.w.config["limits"]["wall_s"])
        keys = ("source", "filename", "as_script")
        self.mark("load_sent")
        self._to_child({"op": "load", **{k: self.msg.get(k) for k in keys}})
        if getattr(self.w, "prefork", False) and self.w.config.get("isolation") == "host":
            # The next job's child comes from the other zygote, made while this job runs, once
            # the job before this one (that zygote's) is buried: now if it is, else right after
            # this job's result.  (Not under gVisor: a mount namespace made there during a job
            # saw that job's mounts.)
            self.w.standby_from = self.w.other_zygote(self.z)
            self.w.maybe_request(block=False)
        child = self.wait_for("loaded", float(timeout))
        self.mark("loaded")
        result = self.result(child, start, 0, 0)
        self.w.send({"op": "loaded", "result": result, **self._job_extras()})

    def _call(self, msg: dict[str, Any]) -> dict[str, Any]:
        """One call of the job's entry point: its result (never raises on what the job did)."""
        out0, err0 = len(self.out), len(self.err)
        t0 = time.monotonic()
        if self.dead is not None:
            return {"status": "error", "error": f"job already ended ({self.dead})", "wall_s": 0.0}
        keys = ("entry", "args", "kwargs")
        self.mark("call_sent")
        self._to_child({"op": "call", **{k: msg.get(k) for k in keys}})
        child = self.wait_for("result", float(msg.get("timeout") or self.default_timeout))
        self.mark("result")
        return self.result(child, t0, out0, err0)

    def _to_child(self, msg: dict[str, Any]) -> None:
        """Write a frame to the job with a deadline: a job that stops reading its channel is
        killed, it never blocks the worker."""
        try:
            data = memoryview(_codec.dumps_frame(msg))
        except (_codec.FrameError, ValueError, TypeError) as exc:
            self._violation("protocol", f"frame for the job not encodable: {exc}")
            return
        deadline = time.monotonic() + CHILD_WRITE_S
        while data:
            try:
                data = data[os.write(self.to_child, data) :]
                continue
            except BlockingIOError:
                pass
            except OSError:  # the job process is gone; wait_for reports how it ended
                self.dead = self.dead or "exited"
                return
            left = deadline - time.monotonic()
            if left <= 0:
                self._violation("channel_stall", "the job stopped reading its channel")
                return
            select.select([], [self.to_child], [], min(left, 0.05))

    def _job_extras(self) -> dict[str, Any]:
        extras = {"events": self.events, "violations": self.violations}
        self.events, self.violations = [], []
        return extras

    def finish(self, start: float) -> None:
        """End the job.  A job still alive after its last answer (the usual case) is killed and
        the ``closed`` frame sent at once, with what it wrote before the kill (all of that is
        in the pipes by then); waiting for its processes, closing its pipes and removing its
        cgroup follow while the harness already has the result.  A job that died is waited
        for first: how it ended is part of what ``closed`` says."""
        self.mark("finish")
        answered = self.dead is None
        self.kill(self.dead or "closed")
        if answered:
            self._poll_output()
            self._drain_all("monitor", wait=0.0)  # denial records are written before the
        else:  # denied syscall returns, so all of them up to the job's last answer are there
            self._cleanup()
        if self.marks is not None:
            self.marks("closed_sent")  # the frame below is sent at once (its extras are ready)
            event = self.marks.event(self.preforked)
            event["ms"]["prev_after_result"] = getattr(self.w, "last_after_result", 0.0)
            self.events.append(event)
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
        if answered and self.w.config.get("isolation") == "host" and self.fallback_dir is None:
            # killed; its processes die and are reaped while the worker goes on (Worker.bury)
            self._close_pipes()
            self.w.corpses.append(self)
        else:
            if answered:
                self._cleanup()
            self._end_cgroup()
            if self.w.config.get("isolation") == "gvisor":
                self.w.drop_job_mounts()
        if getattr(self.w, "standby_from", None) is not None:
            self.w.maybe_request(block=True)  # the result is out: the next child may wait here
        self.mark("end")
        if self.marks is not None and "closed_sent" in self.marks.t:
            self.w.last_after_result = round(
                (self.marks.t["end"] - self.marks.t["closed_sent"]) * 1000, 3
            )

    def _cleanup(self) -> None:
        self._settle()
        self._reap_strays()
        self._close_pipes()
        if self.fallback_dir is not None:
            _confine.remove_tree(self.fallback_dir)
            self.fallback_dir = None

    def _close_pipes(self) -> None:
        for fd in (self.to_child, *self.fds.values()):
            try:
                os.close(fd)
            except OSError:
                pass
        self.sel.close()

    def _end_cgroup(self) -> None:
        if self.cgroup is not None and self.w.cgroups is not None:
            self.w.cgroups.ask({"op": "end", "n": self.cgroup})  # what is left of it is killed

    def bury(self, block: bool) -> bool:
        """Reap a job killed after its answer (its pipes are closed): wait4 through its zygote,
        strays re-parented to the worker, then the cgroup's end.  True when done; with
        ``block`` False, only what is ready now."""
        if self.wait_status is None:
            got = self.z.wait(self.pid, nohang=not block)
            if got is None:
                return False
            self._reaped(*got)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
            alive = True
        except OSError:  # ProcessLookupError: nothing of the job is left
            alive = False
        if alive:
            if not block:
                return False
            self._reap_strays()
        self._end_cgroup()
        return True


class Zygote:
    """Forks every job.  Forked from the worker at start, before any job data exists, and told
    nothing but "spawn" and "wait": a job's inherited memory holds no earlier job's source,
    arguments or RPC replies (those pass through the worker only).  Pipe ends come back to the
    worker by SCM_RIGHTS; the job's wait4 status and rusage by message."""

    def __init__(
        self, worker: Any, cgroup_fd: int | None = None, others: tuple[int, ...] = ()
    ) -> None:
        """``others``: fds of the worker this zygote must not keep (the worker's own socket to
        the launcher, the other zygote's)."""
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            self.sock.close()
            for fd in others:
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                _zygote_loop(theirs, worker, cgroup_fd)
            except BaseException:  # noqa: B036 - said on stderr; the worker sees us gone
                traceback.print_exc()
            finally:
                os._exit(0)
        theirs.close()
        if cgroup_fd is not None:
            os.close(cgroup_fd)
        self.pid = pid
        self.fork_ms: float | None = None
        self.pending = False  # a spawn asked for and not yet answered
        self.ready: tuple[dict[str, Any], list[int]] | None = None  # answered, not yet taken

    def _send(self, msg: dict[str, Any]) -> None:
        try:
            self.sock.sendall(json.dumps(msg).encode())
        except OSError as exc:
            raise SystemExit(f"stopbox worker: the zygote is gone ({exc})") from None

    def _recv(self, nfds: int = 0) -> tuple[dict[str, Any], list[int]]:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 4096, nfds) if nfds else (
                self.sock.recv(4096), [], 0, None)  # fmt: skip
        except OSError as exc:
            raise SystemExit(f"stopbox worker: the zygote is gone ({exc})") from None
        if not data:
            raise SystemExit("stopbox worker: the zygote is gone")
        return json.loads(data), list(fds)

    def _ask(self, msg: dict[str, Any], nfds: int = 0) -> tuple[dict[str, Any], list[int]]:
        if self.pending:  # the zygote answers in order: first the spawn asked for earlier
            self.ready, self.pending = self._recv(5), False
        self._send(msg)
        return self._recv(nfds)

    def request(self, workdir: str) -> None:
        """Ask for the next job's child without waiting: the zygote forks it (born in the
        zygote's cgroup) while this worker runs the current job."""
        if not self.pending and self.ready is None:
            self._send({"op": "spawn", "workdir": workdir})
            self.pending = True

    def spawn(self, workdir: str) -> tuple[int, list[int], int | None]:
        """The child asked for earlier (pre-fork), else a new one now."""
        if self.ready is not None:
            (reply, fds), self.ready = self.ready, None
        elif self.pending:
            (reply, fds), self.pending = self._recv(5), False
        else:
            reply, fds = self._ask({"op": "spawn", "workdir": workdir}, 5)
        if "error" in reply or len(fds) != 5:
            for fd in fds:
                os.close(fd)
            raise OSError(f"zygote: {reply.get('error', 'no pipes')}")
        cgroup = reply.get("cgroup")
        self.fork_ms = reply.get("fork_ms")
        return int(reply["pid"]), fds, int(cgroup) if cgroup is not None else None

    def wait(self, pid: int, *, nohang: bool) -> tuple[int, float, float] | None:
        """(status, cpu seconds, max rss kB) once the job's first process ended, else None."""
        reply, _ = self._ask({"op": "wait", "pid": pid, "nohang": nohang})
        if not reply.get("done"):
            return None
        return int(reply["status"]), float(reply["cpu_s"]), float(reply["maxrss"])


def _zygote_loop(sock: socket.socket, w: Any, cgroup_fd: int | None) -> None:
    _confine.set_pdeathsig(signal.SIGKILL)
    for fd in (w.in_fd, w.out_fd):  # the zygote never talks to the harness
        try:
            os.close(fd)
        except OSError:
            pass
    cgroup: int | None = None
    refused = None
    if cgroup_fd is not None:  # our own cgroup: every job we fork is born in it
        client = _cgroup.Client(cgroup_fd)
        got = client.ask({"op": "adopt"})
        client.sock.close()
        if "error" in got:
            refused = str(got["error"])
        else:
            cgroup = int(got["n"])
    while True:
        data = sock.recv(4096)
        if not data:
            return
        msg = json.loads(data)
        if msg.get("op") == "spawn":
            try:
                if refused is not None:  # fail closed: no job outside its cgroup
                    raise OSError(f"cgroup: {refused}")
                t0 = time.monotonic()
                pid, fds = _fork_job(str(msg["workdir"]), w, sock, cgroup is not None)
                took = {"fork_ms": round((time.monotonic() - t0) * 1000, 3)}
                reply = json.dumps({"pid": pid, "cgroup": cgroup, **took}).encode()
                socket.send_fds(sock, [reply], fds)
                for fd in fds:
                    os.close(fd)
            except OSError as exc:
                sock.sendall(json.dumps({"error": str(exc)}).encode())
        elif msg.get("op") == "wait":
            done: dict[str, Any] = {"done": False}
            try:
                got, status, ru = os.wait4(int(msg["pid"]), os.WNOHANG if msg.get("nohang") else 0)
                if got:
                    done = {"done": True, "status": status, "maxrss": ru.ru_maxrss,
                            "cpu_s": ru.ru_utime + ru.ru_stime}  # fmt: skip
            except ChildProcessError:
                done = {"done": True, "status": 0, "maxrss": 0, "cpu_s": 0.0}
            sock.sendall(json.dumps(done).encode())


PR_SET_DUMPABLE = 4


def _first_oom_victim() -> None:
    """oom_score_adj 1000 for this (job) process, so a memory-cgroup OOM kill ends the job and
    never the zygote sharing its cgroup (raising it needs no privilege).  The worker's processes
    are not dumpable (their ids changed when they entered the user namespace), so their /proc
    files belong to the host's root: dumpable is set for this one write and cleared again."""
    libc = _confine._libc
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(fd, b"1000")
        finally:
            os.close(fd)
    finally:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _fork_job(workdir: str, w: Any, sock: socket.socket, in_cgroup: bool) -> tuple[int, list[int]]:
    """Fork the job's first process (born in this zygote's cgroup, when there is one)."""
    c_in_r, c_in_w = os.pipe()
    c_out_r, c_out_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    mon_r, mon_w = os.pipe()
    job = {
        "allow_imports": w.config["allow_imports"],
        "readable": w.read_paths,
        "writable": [workdir, *w.config["paths"]["write"]],
    }
    pid = os.fork()
    if pid == 0:  # the job process
        try:
            sock.close()
            for fd in (c_in_w, c_out_r, out_r, err_r, mon_r):
                os.close(fd)
            if in_cgroup:  # the OOM killer's first choice in the cgroup: the job, not the zygote
                _first_oom_victim()
            _child.enter(job, (c_in_r, c_out_w, out_w, err_w, mon_w), workdir, w)
        except BaseException:  # noqa: B036 - never return into the zygote loop
            traceback.print_exc()
        os._exit(70)
    for fd in (c_in_r, c_out_w, out_w, err_w, mon_w):
        os.close(fd)
    return pid, [c_in_w, c_out_r, out_r, err_r, mon_r]
