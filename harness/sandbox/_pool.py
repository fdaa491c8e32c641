"""The warm worker pool every real backend is built on (seccomp, gvisor, docker).

How to write a backend on top of it::

    @backend("mybackend")
    class MySandbox(WorkerSandbox):
        @classmethod
        def unavailable_reason(cls) -> str | None:
            return None if shutil.which("mytool") else "install mytool (apt-get install mytool)"

        def worker_command(self, worker_dir: Path) -> list[str]:
            # argv that starts one worker: it must run `python3 -I <dir>/_worker.py` with the
            # files of `worker_dir` (copied there by the pool: WORKER_FILES) visible at <dir>,
            # and connect the worker's stdin/stdout to this process (e.g. `docker run -i`).
            return ["mytool", "run", "--", "python3", "-I", f"{worker_dir}/_worker.py"]

        # optional: def worker_env(self) -> dict[str, str] | None  (environment of the launcher)
        # optional: def worker_start_timeout(self) -> float        (seconds to wait for `ready`)

The pool starts ``pool_size`` workers (policy ``sandbox.pool_size``, 0 = one per core), hands an
idle worker to each job (starting an extra one when none is idle, so nested jobs started from an
RPC handler never deadlock), replaces a worker that crashed or stopped answering (its job gets
status ``error``/``killed`` with a ``crash`` violation, never lost) and is safe to use from many
threads.  The worker reports which confinement layers applied in its ``ready`` frame
(:attr:`WorkerSandbox.layers`) and in every job's ``{"kind": "sandbox", "event": "layers"}`` event.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from stopbox.harness.errors import SandboxError, SandboxUnavailableError
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox import _codec
from stopbox.harness.sandbox._base import (
    ExecResult,
    Job,
    Proxy,
    RpcError,
    RpcHandler,
    Sandbox,
    Status,
)
from stopbox.harness.sandbox._channel import WorkerDied, WorkerProcess
from stopbox.harness.sandbox._guard import Budgets, JobGuard

__all__ = [
    "WORKER_FILES",
    "WorkerSandbox",
    "dir_in_use",
    "WorkerJob",
    "worker_config",
    "encode_proxy",
]

log = structlog.get_logger(__name__)
HERE = Path(__file__).resolve().parent
WORKER_SOURCE = HERE / "worker"
WORKER_FILES: dict[str, Path] = {
    "_worker.py": WORKER_SOURCE / "_worker.py",
    "_jobrun.py": WORKER_SOURCE / "_jobrun.py",
    "_child.py": WORKER_SOURCE / "_child.py",
    "_audit.py": WORKER_SOURCE / "_audit.py",
    "_confine.py": WORKER_SOURCE / "_confine.py",
    "_cgroup.py": WORKER_SOURCE / "_cgroup.py",
    "_profile.py": WORKER_SOURCE / "_profile.py",
    "_monitor.py": WORKER_SOURCE / "_monitor.py",
    "_codec.py": HERE / "_codec.py",  # one file: the host's codec is the worker's codec
    "helpers.py": HERE / "helpers.py",  # one file: the harness uses extract_code too
}
"""Name in the worker directory -> the one source file it is copied from."""
MAX_WORKERS = 64
WATCHDOG_GRACE_S = 5.0


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dir_in_use(path: Path) -> bool:
    """True while a live pool holds ``path`` (its worker directory): the pool keeps a shared
    flock on it.  Unlike the owner's pid, this holds across pid namespaces (a harness in another
    pid namespace sharing /tmp, as Ray nodes in ``unshare --pid`` do, is never taken for dead)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def worker_config(policy: Policy) -> dict[str, Any]:
    """The ``init`` frame's config: everything the worker needs from the policy."""
    sb = policy.sandbox
    return {
        "limits": {
            "wall_s": sb.wall_s,
            "call_timeout_s": sb.call_timeout_s,
            "cpu_s": sb.cpu_s,
            "memory_mb": sb.memory_mb,
            "processes": sb.processes,
            "file_size_mb": sb.file_size_mb,
            "open_files": sb.open_files,
            "output_bytes": sb.output_bytes,
        },
        "allow_imports": list(policy.imports.allow),
        "owner_pid": os.getpid(),
        "paths": {"read": list(policy.paths.read), "write": list(policy.paths.write)},
        "syscalls": {
            "deny": list(policy.syscalls.deny),
            "allow": list(policy.syscalls.allow),
            "action": policy.syscalls.action,
        },
    }


def encode_proxy(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Proxy):
        return {
            "__stopbox_proxy__": value.name,
            "attrs": _codec.encode(dict(value.attrs), encode_proxy),
            "live": list(value.live),
            "methods": list(value.methods),
            "callable": bool(value.callable),
        }
    return None


class WorkerJob(Job):
    """A job on one worker; calls run one at a time (use one Job from one thread at a time)."""

    def __init__(
        self,
        sandbox: WorkerSandbox,
        worker: WorkerProcess,
        source: str,
        filename: str,
        rpc: RpcHandler | None,
        as_script: bool,
        then_call: tuple[str, Sequence[Any], Mapping[str, Any] | None, float | None] | None = None,
    ) -> None:
        """Load ``source``; with ``then_call`` also call it once and close, all sent at once
        (one round trip for :meth:`WorkerSandbox.exec`; results are read in order)."""
        self.sandbox, self.worker, self.rpc = sandbox, worker, rpc
        self._close_sent = False
        self.events: list[Mapping[str, Any]] = []
        self.violations: list[Mapping[str, Any]] = []
        self.results: list[ExecResult] = []
        self.closed: ExecResult | None = None
        self.broken = False
        self.guard = JobGuard(sandbox.budgets, sandbox.policy.sandbox.output_bytes)
        timeout = sandbox.policy.sandbox.wall_s
        msg = {
            "op": "job",
            "source": source,
            "filename": filename,
            "as_script": as_script,
            "timeout": timeout,
        }
        msgs = [msg]
        if then_call is not None:
            entry, args, kwargs, call_timeout = then_call
            t = self._call_timeout(call_timeout)
            msgs += [self._call_frame(entry, args, kwargs, t), {"op": "close"}]
            self._close_sent = True
        self.load_result = self._exchange(msgs, "loaded", timeout)
        if then_call is not None and not self.broken:
            self.results.append(self._exchange([], "result", t))

    def record(self, event: Mapping[str, Any]) -> None:
        """Add a trusted-side event (e.g. a broker event) to this job's cumulative result."""
        self.events.append(dict(event))

    def _exchange(self, msgs: list[dict[str, Any]], want: str, timeout: float) -> ExecResult:
        """Send ``msgs``, serve RPC until the ``want`` frame; never raises on what the job did.

        A worker that dies, sends garbage or stops answering is discarded (a replacement starts
        on demand) and the job gets a ``crash`` violation; a malformed or over-budget frame is a
        violation of the job (:class:`JobGuard`)."""
        start_events, start_violations = len(self.events), len(self.violations)
        start_guard = len(self.guard.violations)
        res: Any = {}
        try:
            for msg in msgs:
                self.worker.send(msg)
            while True:
                reply = self.worker.recv(timeout + WATCHDOG_GRACE_S)
                op = reply.get("op")
                if op == "rpc":
                    self._serve_rpc(reply, self.worker.last_size)
                    continue
                self.events.extend(self.guard.take_events(reply.get("events"), "events"))
                self.violations.extend(
                    self.guard.take_events(reply.get("violations"), "violations")
                )
                if op == want:
                    res = reply.get("result")
                    break
        except (WorkerDied, TimeoutError) as exc:
            self.broken = True
            self.sandbox._discard(self.worker)
            wedged = isinstance(exc, TimeoutError)
            self.violations.append({"kind": "crash", "detail": str(exc)})
            what = "stopped answering" if wedged else "died"
            res = {"status": "killed" if wedged else "error", "error": f"worker {what}: {exc}"}
        fields = self.guard.result_fields(res, "ok" if want == "closed" else "error")
        found = self.guard.violations[start_guard:]
        self.violations.extend(found)
        fields["status"] = self.guard.verdict(fields["status"]) if found else fields["status"]
        if found and fields["error"] is None and fields["status"] is not Status.OK:
            fields["error"] = "; ".join(str(v["detail"]) for v in found)
        return ExecResult(
            events=tuple(self.events[start_events:]),
            violations=tuple(self.violations[start_violations:]),
            **fields,
        )

    def _serve_rpc(self, msg: Mapping[str, Any], size: int) -> None:
        if not self.guard.admit_rpc(size):
            return  # over budget: a violation, and the flood is not answered
        reply: dict[str, Any] = {"op": "rpc_reply"}
        try:
            try:
                args = _codec.decode(msg.get("args") or [])
                kwargs = _codec.decode(msg.get("kwargs") or {})
                obj, method = msg.get("obj"), msg.get("method")
                if not (isinstance(args, list) and isinstance(kwargs, dict)
                        and isinstance(obj, str) and isinstance(method, str)
                        and all(isinstance(k, str) for k in kwargs)):  # fmt: skip
                    raise _codec.FrameError("expected obj, method: str, args: list, kwargs: dict")
            except _codec.FrameError as exc:
                self.guard.violation("protocol", f"malformed RPC frame: {exc}", "protocol-rpc")
                raise RpcError("malformed RPC", "RuntimeError") from None
            if self.rpc is None:
                raise RpcError("this job has no RPC handler", "RuntimeError")
            value = self.rpc(obj, method, args, kwargs)
            reply["value"] = _codec.encode(value, encode_proxy)
        except RpcError as exc:
            reply["error"] = {"kind": exc.kind, "message": str(exc)}
        except Exception as exc:  # a failing handler must not kill the job's worker
            log.warning("rpc handler failed", error=repr(exc), obj=msg.get("obj"))
            reply["error"] = {"kind": "RuntimeError", "message": "internal error in the harness"}
        try:
            size = len(_codec.dumps_frame(reply))
        except _codec.FrameError:
            unsendable = {"kind": "RuntimeError", "message": "reply not sendable"}
            reply = {"op": "rpc_reply", "error": unsendable}
            size = 0
        if not self.guard.reply_fits(size):
            over = {"kind": "BudgetExceeded", "message": "RPC byte budget exceeded"}
            reply = {"op": "rpc_reply", "error": over}
        self.worker.send(reply)

    def call(
        self,
        entry: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        if self.broken or self.closed is not None:
            res = ExecResult(Status.ERROR, error="job already ended")
            self.results.append(res)
            return res
        t = self._call_timeout(timeout)
        msg = self._call_frame(entry, args, kwargs, t)
        res = self._exchange([msg], "result", t)
        if self.results:  # only the last value is needed (close): a job returning 60 MB per
            self.results[-1] = dataclasses.replace(
                self.results[-1], value=None
            )  # call stays bounded
        self.results.append(res)
        return res

    def _call_timeout(self, timeout: float | None) -> float:
        return float(timeout if timeout is not None else self.sandbox.policy.sandbox.call_timeout_s)

    @staticmethod
    def _call_frame(
        entry: str, args: Sequence[Any], kwargs: Mapping[str, Any] | None, timeout: float
    ) -> dict[str, Any]:
        return {
            "op": "call",
            "entry": entry,
            "timeout": timeout,
            "args": _codec.encode(list(args), encode_proxy),
            "kwargs": _codec.encode(dict(kwargs or {}), encode_proxy),
        }

    def close(self) -> ExecResult:
        if self.closed is not None:
            return self.closed
        ended = [self.load_result, *self.results]
        if not self.broken:
            final = self._exchange([] if self._close_sent else [{"op": "close"}], "closed", 30.0)
            ended.append(final)  # a violation found while closing counts too
        else:
            final = ExecResult(Status.ERROR)
        if not self.broken:
            self.sandbox._release(self.worker)
        statuses = [self.load_result, *self.results]
        bad = next((r for r in ended if not r.ok), None)
        last = self.results[-1] if self.results else self.load_result
        status = self.guard.verdict(bad.status if bad else Status.OK)
        self.closed = ExecResult(
            status=status,
            value=last.value,
            stdout=final.stdout if not self.broken else "".join(r.stdout for r in statuses),
            stderr=final.stderr if not self.broken else "".join(r.stderr for r in statuses),
            wall_s=final.wall_s or sum(r.wall_s for r in statuses),
            cpu_s=max(final.cpu_s, sum(r.cpu_s for r in statuses)),
            max_rss_mb=max([final.max_rss_mb, *(r.max_rss_mb for r in statuses)]),
            events=tuple(self.events),
            violations=tuple(self.violations),
            error=bad.error if bad else None,
            truncated=any(r.truncated for r in (*statuses, final)),
        )
        return self.closed


class WorkerSandbox(Sandbox):
    """A :class:`Sandbox` whose jobs run in pooled workers; subclasses say how to launch one."""

    def __init__(self, policy: Policy, *, pool_size: int | None = None) -> None:
        super().__init__(policy, pool_size=pool_size)
        size = pool_size or policy.sandbox.pool_size or os.cpu_count() or 1
        self.size = max(1, int(size))
        self._lock = threading.Lock()
        self._idle: list[WorkerProcess] = []
        self._all: set[WorkerProcess] = set()
        self._dir: Path | None = None
        self._dir_lock: int | None = None
        self._started = False
        self._closed = False
        self.layers: dict[str, Any] = {}
        """Confinement layers the last started worker reported (namespaces, Landlock ABI)."""
        self.budgets = Budgets()
        """Per-job RPC, event and output budgets enforced on this side (:mod:`._guard`)."""

    # --- hooks for subclasses -----------------------------------------------------------------
    def worker_command(self, worker_dir: Path) -> list[str]:
        """argv starting one worker whose stdin/stdout are the frame channel."""
        raise NotImplementedError

    def worker_env(self) -> dict[str, str] | None:
        """Environment for the launcher process (None: a minimal one)."""
        return None

    def worker_start_timeout(self) -> float:
        return 60.0

    def remove_stale_state(self) -> None:
        """Remove what a harness killed with SIGKILL left behind, by owner pid, never another's.

        Here: worker directories ``stopbox-worker-<pid>-*`` of dead owners.  Backends extend it
        with what they create (runsc state, containers): ``backends/stale.py``."""
        tmp = Path(tempfile.gettempdir())
        for path in tmp.glob("stopbox-worker-*-*"):
            owner = path.name.split("-")[2]
            if owner.isdigit() and not path.is_symlink() and not _pid_alive(int(owner)):
                if not dir_in_use(path):
                    shutil.rmtree(path, ignore_errors=True)

    def prepare_worker_dir(self) -> Path:
        """Copy the worker files into a private directory (readable by the job, nothing else)."""
        self.remove_stale_state()
        d = Path(tempfile.mkdtemp(prefix=f"stopbox-worker-{os.getpid()}-"))
        self._dir_lock = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._dir_lock, fcntl.LOCK_SH)  # in use while we live: dir_in_use()
        for name, source in WORKER_FILES.items():
            shutil.copy2(source, d / name)
            os.chmod(d / name, 0o644)
        os.chmod(d, 0o755)
        return d

    # --- pool -------------------------------------------------------------------------------------
    def start(self) -> None:
        reason = self.unavailable_reason()
        if reason is not None:
            raise SandboxUnavailableError(f"backend {self.name!r} is unavailable: {reason}")
        with self._lock:
            if self._started:
                return
            self._dir = self.prepare_worker_dir()
            self._started = True
        workers: list[WorkerProcess | BaseException] = []

        def launch() -> None:
            try:
                workers.append(self._launch())
            except BaseException as exc:  # noqa: B036 - re-raised below in the caller's thread
                workers.append(exc)

        threads = [threading.Thread(target=launch) for _ in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [w for w in workers if isinstance(w, BaseException)]
        with self._lock:
            self._idle.extend(w for w in workers if isinstance(w, WorkerProcess))
        if errors:
            self.close()
            raise SandboxUnavailableError(f"backend {self.name!r} could not start: {errors[0]}")

    def _launch(self) -> WorkerProcess:
        assert self._dir is not None
        env = self.worker_env()
        if env is None:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        worker = WorkerProcess(self.worker_command(self._dir), env)
        try:
            ready = worker.start(worker_config(self.policy), self.worker_start_timeout())
        except (WorkerDied, TimeoutError) as exc:
            worker.kill()
            raise SandboxError(f"worker did not start: {exc}; {worker.stderr_tail()}") from None
        self.layers = dict(ready.get("layers") or {})
        with self._lock:
            self._all.add(worker)
        return worker

    def _acquire(self) -> WorkerProcess:
        if not self._started:
            self.start()
        with self._lock:
            if self._closed:
                raise SandboxError("sandbox is closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                self._all.discard(worker)
            if len(self._all) >= MAX_WORKERS:
                raise SandboxError(f"more than {MAX_WORKERS} concurrent jobs")
        return self._launch()  # no idle worker: start one (never wait: nested jobs)

    def _release(self, worker: WorkerProcess) -> None:
        with self._lock:
            if not self._closed and worker.alive() and len(self._idle) < self.size:
                self._idle.append(worker)
                return
            self._all.discard(worker)
        worker.stop()

    def _discard(self, worker: WorkerProcess) -> None:
        """Kill a crashed or wedged worker; a replacement starts on demand."""
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)

    def job(
        self,
        source: str,
        *,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        as_script: bool = False,
    ) -> Job:
        return WorkerJob(self, self._acquire(), source, filename, rpc, as_script)

    def exec(
        self,
        source: str,
        *,
        entry: str | None = None,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """As :meth:`Sandbox.exec`, with load, call and close pipelined in one round trip."""
        if entry is None:
            return super().exec(source, filename=filename, rpc=rpc, timeout=timeout)
        job = WorkerJob(self, self._acquire(), source, filename, rpc, False,
                        then_call=(entry, args, kwargs, timeout))  # fmt: skip
        final = job.close()
        return final if job.load_result.ok else job.load_result

    def worker_pids(self) -> list[int]:
        """Pids of the live worker launchers (tests use this to check replacement)."""
        with self._lock:
            return [w.pid for w in self._all if w.alive()]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
        for worker in workers:
            worker.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        if self._dir_lock is not None:
            os.close(self._dir_lock)
            self._dir_lock = None
