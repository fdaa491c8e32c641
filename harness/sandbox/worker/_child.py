"""The forked job process: confine, load the untrusted module, run calls, relay RPC.

Standalone (stdlib + the worker's siblings).  Runs in the child the worker forks for one job;
everything here happens *before* the first untrusted byte is compiled, except :func:`serve`.

The child talks to the worker on two private pipe fds (``CHAN_IN``/``CHAN_OUT``).  Anything the
untrusted code prints goes to fds 1/2, which are pipes the worker reads and caps: a print is
captured output, never a frame.  Events from the audit hook are written to the channel as they
happen, so code that runs later cannot erase them (it can only add noise, which is harmless).
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import io
import os
import random
import signal
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

import _codec
import _confine
import _monitor
from _audit import IMPORTS_LIVE, guarded_builtins, install_audit_hook

CHAN_IN = 3
CHAN_OUT = 4


class _Remote:
    """Exceptions raised inside the sandbox for RpcError kinds (builtin names map to builtins)."""

    cache: dict[str, type[BaseException]] = {}

    @classmethod
    def exception(cls, kind: str) -> type[BaseException]:
        builtin = getattr(builtins, kind, None)
        if isinstance(builtin, type) and issubclass(builtin, Exception):
            return builtin
        if kind not in cls.cache:
            cls.cache[kind] = type(
                str(kind) if str(kind).isidentifier() else "RpcError", (Exception,), {}
            )
        return cls.cache[kind]


def make_rpc(send: Callable[[dict[str, Any]], None], recv: Callable[[], Any]) -> Callable[..., Any]:
    def rpc(obj: str, method: str, args: Any, kwargs: Any) -> Any:
        send(
            {
                "op": "rpc",
                "obj": obj,
                "method": method,
                "args": _codec.encode(list(args)),
                "kwargs": _codec.encode(dict(kwargs)),
            }
        )
        while True:
            reply = recv()
            if reply.get("op") == "rpc_reply":
                break
        if "error" in reply:
            err = reply["error"]
            raise _Remote.exception(str(err.get("kind", "RuntimeError")))(err.get("message", ""))
        return _codec.decode(reply.get("value"), make_proxy_factory(rpc))

    return rpc


def make_proxy_factory(rpc: Callable[..., Any]) -> Callable[[dict[str, Any]], Any]:
    def make_proxy(spec: dict[str, Any]) -> Any:
        name = str(spec["__stopbox_proxy__"])
        attrs = dict(_codec.decode(spec.get("attrs") or {}, make_proxy))
        live = frozenset(spec.get("live") or ())
        methods = frozenset(spec.get("methods") or ())
        is_callable = bool(spec.get("callable"))

        def method(m: str) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                return rpc(name, m, args, kwargs)

            call.__name__ = m
            return call

        def __getattr__(self: Any, attr: str) -> Any:
            if attr in attrs:
                return attrs[attr]
            if attr in live:
                return rpc(name, "__getattr__", (attr,), {})
            if attr in methods:
                return method(attr)
            if not (attr.startswith("__") and attr.endswith("__")):
                # reaching past the proxy: the broker records it and raises AttributeError here
                return rpc(name, "__getattr__", (attr,), {})
            raise AttributeError(f"{name!r} object has no attribute {attr!r}")

        def __setattr__(self: Any, attr: str, value: Any) -> None:
            rpc(name, "__setattr__", (attr, value), {})
            raise AttributeError(f"{name}.{attr} is read-only in the sandbox")

        def __delattr__(self: Any, attr: str) -> None:
            rpc(name, "__setattr__", (attr, None), {})
            raise AttributeError(f"{name}.{attr} is read-only in the sandbox")

        made: list[bool] = []

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if made:  # a second object of a proxy class: recorded and refused by the broker
                rpc(name, "__new__", args, kwargs)
            made.append(True)

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_callable:
                raise TypeError(f"{name!r} object is not callable")
            return rpc(name, "__call__", args, kwargs)

        ns = {
            "__slots__": (),
            "__init__": __init__,
            "__getattr__": __getattr__,
            "__setattr__": __setattr__,
            "__delattr__": __delattr__,
            "__call__": __call__,
            "__repr__": lambda self: f"<{name} (brokered by stopbox)>",
            "__dir__": lambda self: sorted({*attrs, *live, *methods}),
        }
        return type(name if name.isidentifier() else "Proxy", (), ns)()

    return make_proxy


def _usage(start_cpu: float, start: float) -> dict[str, float]:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": ru.ru_utime + ru.ru_stime - start_cpu,
        "max_rss_mb": ru.ru_maxrss / 1024.0,
        "child_wall_s": time.monotonic() - start,
    }


def _failure(exc: BaseException) -> dict[str, Any]:
    status = "memory" if isinstance(exc, MemoryError) else "error"
    tb = exc.__traceback__
    here = os.path.dirname(os.path.abspath(__file__))
    while tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == here:
        tb = tb.tb_next  # hide the worker's own frames
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:  # noqa: B036 - untrusted exceptions may fail to format
        text = f"{type(exc).__name__}"
    return {"status": status, "error": text[-20000:], "exc_type": type(exc).__name__}


def _seed_rngs(source: str) -> None:
    """Seed ``random`` and numpy's global RNG from the program text.

    Warm workers are forked from one process, so without this an unseeded program's "random"
    numbers depend on which worker ran the job; with it the same program gives the same numbers
    on every worker and in every run (reproducible runs with ``--jobs N``).
    """
    seed = int.from_bytes(hashlib.sha256(source.encode("utf-8", "replace")).digest()[:4], "big")
    random.seed(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed)


def _setup_stdio() -> None:
    """fds 1/2 are the worker's output pipes (captured, capped), fd 0 is /dev/null."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), write_through=True,
                                  encoding="utf-8", errors="backslashreplace")  # fmt: skip
        setattr(sys, name, stream)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")


def _wait_for_load(recv: Callable[[], Any]) -> dict[str, Any]:
    """Pre-forked and confined while the worker was idle: wait for the job's source."""
    while True:
        try:
            first = recv()
        except BaseException:  # noqa: B036 - the worker went away before a job came
            os._exit(0)
        if isinstance(first, dict) and first.get("op") == "load":
            return first


def _prepare_module(job: dict[str, Any]) -> tuple[types.ModuleType, str]:
    """The module object the untrusted code runs in, and its file name (written for tracebacks
    with source lines)."""
    filename = os.path.join(
        os.getcwd(), os.path.basename(str(job.get("filename") or "candidate.py"))
    )
    module = types.ModuleType("__main__" if job.get("as_script") else "candidate")
    module.__file__ = filename
    try:
        with open(filename, "w", encoding="utf-8") as f:
            f.write(job["source"])
    except OSError:
        pass
    return module, filename


def _install_guards(job: dict[str, Any], send: Callable[[dict[str, Any]], None], code: Any,
                    module: types.ModuleType) -> None:  # fmt: skip
    """Audit hook, guarded builtins, the module in sys.modules (the last trusted step)."""
    allow = frozenset(job.get("allow_imports") or ())
    install_audit_hook(send, allow, tuple(job.get("readable") or ()),
                       tuple(job.get("writable") or ()), code)  # fmt: skip
    sys.modules[module.__name__] = module
    module.__dict__["__builtins__"] = guarded_builtins(send, allow)


def _run_module(code: Any, namespace: dict[str, Any], as_script: bool) -> dict[str, Any]:
    """Run the untrusted module body: its outcome as a result dict.  From here on every syscall
    the filter denies is a violation seen by the reaper (:func:`_monitor.arm`)."""
    IMPORTS_LIVE.append(True)
    _monitor.arm()
    try:
        exec(code, namespace)
        return {"status": "ok"}
    except SystemExit as exc:
        ok = exc.code in (None, 0)
        return {"status": "ok"} if ok and as_script else _failure(exc)
    except BaseException as exc:  # noqa: B036 - untrusted code raising anything is a result
        return _failure(exc)


def _answer_call(msg: dict[str, Any], namespace: dict[str, Any],
                 make_proxy: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:  # fmt: skip
    """Run one call of an entry point: its result dict (without usage figures)."""
    try:
        fn = namespace[msg["entry"]]
        args = _codec.decode(msg.get("args") or [], make_proxy)
        kwargs = _codec.decode(msg.get("kwargs") or {}, make_proxy)
        return {"status": "ok", "value": _codec.encode(fn(*args, **kwargs))}
    except KeyError as exc:
        if exc.args and exc.args[0] == msg.get("entry") and msg.get("entry") not in namespace:
            return {"status": "error", "error": f"no such entry point: {msg.get('entry')}"}
        return _failure(exc)
    except BaseException as exc:  # noqa: B036 - anything the call raises is a result
        return _failure(exc)


Send = Callable[[dict[str, Any]], None]


def _call_loop(namespace: dict[str, Any], send: Send, recv: Callable[[], Any],
               make_proxy: Callable[[dict[str, Any]], Any]) -> None:  # fmt: skip
    """Answer call frames until the channel closes, then exit."""
    while True:
        try:
            msg = recv()
        except BaseException:  # noqa: B036 - channel closed: the job is over
            os._exit(0)
        if msg.get("op") != "call":
            continue
        start = time.monotonic()
        cpu0 = _usage(0.0, start)["cpu_s"]
        result = _answer_call(msg, namespace, make_proxy)
        try:
            send({"op": "result", **result, **_usage(cpu0, start)})
        except _codec.FrameError as exc:
            send({"op": "result", "status": "error", "error": f"result not sendable: {exc}"})


def serve(job: dict[str, Any], layers: dict[str, Any]) -> None:
    """Load the module, then answer call frames until the channel closes.  Never returns."""

    def send(msg: dict[str, Any]) -> None:
        _codec.write_frame(CHAN_OUT, msg)

    def recv() -> Any:
        return _codec.read_frame(CHAN_IN)

    _setup_stdio()
    rpc = make_rpc(send, recv)
    send({"op": "event", "event": {"kind": "sandbox", "event": "layers", **layers}})
    first = _wait_for_load(recv)
    job = dict(job, source=str(first.get("source") or ""), filename=first.get("filename"),
               as_script=bool(first.get("as_script")))  # fmt: skip
    module, filename = _prepare_module(job)
    start = time.monotonic()
    _seed_rngs(job["source"])
    try:
        code = compile(job["source"], filename, "exec", dont_inherit=True)
    except BaseException as exc:  # noqa: B036 - a syntax error is a result
        send({"op": "loaded", **_failure(exc), **_usage(0.0, start)})
        os._exit(0)
    _install_guards(job, send, code, module)
    loaded = _run_module(code, module.__dict__, bool(job.get("as_script")))
    send({"op": "loaded", **loaded, **_usage(0.0, start)})
    _call_loop(module.__dict__, send, recv, make_proxy_factory(rpc))


def confine(job: dict[str, Any], config: dict[str, Any], bpf: bytes | None,
            layers: _confine.Layers) -> None:  # fmt: skip
    """Apply rlimits, capabilities, Landlock and seccomp in this process (last: seccomp)."""
    failed = _confine.set_rlimits(config["limits"])
    layers.check("rlimits", "; ".join(failed) if failed else None)
    layers.check("no_capabilities", _confine.drop_capabilities())
    abi = int(config.get("landlock_abi") or 0)
    err = _confine.landlock_restrict(job["readable"], job["writable"], abi)
    if config.get("isolation") == "gvisor" and err:
        layers.info["landlock"] = "not implemented by gVisor (gVisor stands in)"
    else:
        layers.check("landlock", err)
    layers.info["landlock"] = abi if err is None else False
    _load_filter(job, config, bpf, layers)


def _load_filter(job: dict[str, Any], config: dict[str, Any], bpf: bytes | None,
                 layers: _confine.Layers) -> None:  # fmt: skip
    """Load the seccomp filter.  With the denial monitor its listener goes to the reaper
    (outside the job) before anything else runs; with ``kill`` every denial kills (SIGSYS)."""
    denials = config.get("denials")
    if bpf is None:
        layers.check("seccomp", "no filter (pyseccomp unavailable)")
    elif denials in ("monitor", "monitor_unserved") or config.get("path_watch") == "notify":
        # The reaper's pidfd_getfd and process_vm_readv are ptrace-mode accesses: the job stays
        # dumpable.  Only processes of the same host uid (this sandbox's own) could use that, and
        # the filter kills a job that tries ptrace, process_vm_* or pidfd_getfd.
        _confine.set_dumpable(True)
        listener, err = _confine.load_seccomp_listener(bpf)
        layers.check("seccomp", err)
        if listener >= 0 and denials != "monitor_unserved":
            err = _monitor.hand_over(listener)
        elif listener >= 0:  # no reaper to hold it (degraded): denials fail unseen (ENOSYS)
            os.close(listener)
            err = "no reaper outside the job (per-job namespaces unavailable)"
        layers.check("denial_monitor", err)
        if denials == "kill":  # the policy's kill action; the monitor sees path changes
            layers.check("denial_kill", None if "seccomp" in layers.applied else "no filter")
    else:
        if "trace_error" in job:  # the filter hands write-opens to the reaper (RET_TRACE)
            layers.check("write_open_monitor", job["trace_error"])
        layers.check("seccomp", _confine.load_seccomp(bpf))
        if denials == "kill":
            layers.check("denial_kill", None if "seccomp" in layers.applied else "no filter")
    layers.info["seccomp"] = "seccomp" in layers.applied
    layers.info["denials"] = denials


def _job_namespaces(config: dict[str, Any], layers: _confine.Layers) -> bool:
    """In the job's first process: its own mount, pid and IPC namespaces, a fresh sized tmpfs
    workdir, /tmp and /dev/shm.  Returns True when they applied (the caller forks the job as
    pid 1 of the new pid namespace); nothing of them outlives the job."""
    c = _confine
    err = c.unshare(c.CLONE_NEWNS | c.CLONE_NEWPID | c.CLONE_NEWIPC)
    for name in ("mountns", "pidns", "ipcns"):
        layers.check(name, err)
    if err:
        return False
    size = max(16, 4 * int(config["limits"]["file_size_mb"]))
    c.mount(None, "/", None, c.MS_REC | c.MS_PRIVATE)
    layers.check("tmpfs_workdir", c.mount_tmpfs_at(c.SCRATCH, size, 4096))
    err = c.mount_tmpfs_at("/tmp", size, 1024)
    layers.check("private_tmp", err or c.bind_host_tmp(c.HOST_TMP, "/tmp"))
    layers.check("private_shm", c.mount_tmpfs_at("/dev/shm", size, 1024, noexec=True))
    return True


def _mirror_exit(status: int) -> None:
    """End this (reaper) process the way the job ended: same signal, or same exit code."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if sig not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
            os.kill(os.getpid(), sig)
        except (OSError, ValueError):
            pass
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _reaper(pid: int, keep: tuple[int, int, int, int], job: dict[str, Any], w: Any) -> None:
    """The job's reaper, outside its pid namespace: serves the denial monitor (when the job
    hands it the listener), then mirrors how the job ended.  Never returns."""
    mon_w, ready_r, ack_w, proc_fd = keep
    bounds = sorted(keep)
    for lo, hi in zip((-1, *bounds), (*bounds, 1 << 16), strict=True):
        os.closerange(lo + 1, hi)
    where = _monitor.Where(proc_fd, tuple(job["writable"]))
    if w.config.get("denials") == "monitor" or w.config.get("path_watch") == "notify":
        status = _monitor.serve_until_exit(pid, (mon_w, ready_r, ack_w), w.syscall_names, where)
    elif w.config.get("path_watch") == "trace":
        status = _monitor.trace_until_exit(pid, (mon_w, ready_r, ack_w), w.syscall_names, where)
    else:
        status = _monitor.wait(pid)
    _mirror_exit(status)


def _fork_into_job_ns(job: dict[str, Any], mon_w: int, w: Any, layers: _confine.Layers) -> None:
    """Fork: the parent stays outside as the reaper (never returns), the child becomes pid 1
    of the job's pid namespace with its private /proc; returns in the child."""
    ready_r, ready_w = os.pipe()
    ack_r, ack_w = os.pipe()
    proc_fd = os.dup(w.proc_fd)  # the worker's /proc, opened before any job: the reaper's view
    job["writable"] = [*job["writable"], "/tmp", "/dev/shm"]
    pid = os.fork()
    if pid:
        _reaper(pid, (mon_w, ready_r, ack_w, proc_fd), job, w)
    for fd in (mon_w, ready_r, ack_w, proc_fd):
        os.close(fd)
    _confine.set_pdeathsig(signal.SIGKILL)
    c = _confine
    proc_flags = c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC
    layers.check("private_proc", c.mount("proc", "/proc", "proc", proc_flags))
    if w.config.get("path_watch") == "trace":  # traced now, before the uid drop
        job["trace_error"] = _monitor.ask_to_be_traced(ready_w, ack_r)
        job["monitor_fds"] = (ready_w,)
    else:
        job["monitor_fds"] = (ready_w, ack_r)


def _no_job_namespaces(w: Any, layers: _confine.Layers) -> None:
    for name in ("mountns", "pidns", "ipcns", "tmpfs_workdir", "private_tmp", "private_shm",
                 "private_proc"):  # fmt: skip
        layers.check(name, w.config.get("job_ns_error") or "per-job namespaces unavailable")


def _wire_fds(fds: tuple[int, ...], monitor_fds: tuple[int, int] | None) -> None:
    """0 = /dev/null, 1/2 = output pipes, 3/4 = the channel, 5/6 = the monitor hand-over (when
    there is one); nothing else stays open."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds[:4]]  # c_in_r, c_out_w, out, err
    mon = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in monitor_fds or ()]
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for target, fd in zip((CHAN_IN, CHAN_OUT, 1, 2), high, strict=True):
        os.dup2(fd, target)
    for target, fd in zip((_monitor.READY_FD, _monitor.ACK_FD), mon, strict=False):
        os.dup2(fd, target)
    os.closerange(CHAN_OUT + 1 + len(mon), 1 << 16)


def _job_environment(workdir: str) -> None:
    os.environ.clear()
    os.environ.update(HOME=workdir, TMPDIR=workdir, PATH="/nonexistent", LANG="C.UTF-8",
                      OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # fmt: skip
    tempfile.tempdir = workdir
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]


def enter(job: dict[str, Any], fds: tuple[int, ...], workdir: str, w: Any) -> None:
    """In the freshly forked job process: everything up to loading the untrusted module.
    ``fds``: channel in (read), channel out (write), stdout, stderr, monitor (write)."""
    _confine.set_pdeathsig(signal.SIGKILL)
    os.setsid()
    layers = w.layer_state.copy()
    if not w.config.get("job_ns"):
        _no_job_namespaces(w, layers)
    elif _job_namespaces(w.config, layers):
        _fork_into_job_ns(job, fds[4], w, layers)
    if w.config.get("isolation") == "gvisor":
        layers.check("unprivileged_uid", _confine.become(_confine.NOBODY, _confine.NOBODY))
        _confine.set_dumpable(True)  # the reaper (also nobody now) reads its /proc links
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.chdir(workdir)
    monitor_fds = job.pop("monitor_fds", None)
    _wire_fds(fds, monitor_fds)
    _job_environment(workdir)
    bpf = _confine.bind_pid(w.bpf, os.getpid()) if w.bpf is not None else None
    if os.geteuid() == 0 and w.config.get("isolation") != "gvisor":
        layers.info["uid_inside"] = 0
    config = w.config
    if not monitor_fds and config.get("denials") == "monitor":
        config = dict(config, denials="monitor_unserved")
    confine(job, config, bpf, layers)
    if w.bpf_error and not bpf:
        layers.reasons["seccomp"] = w.bpf_error
    layers.info["job_pid"] = os.getpid()
    refused = [m for m in layers.missing if m not in w.allow_missing and "*" not in w.allow_missing]
    if refused:
        serve_refusal(refused, layers)
    serve(job, layers.to_dict())


def serve_refusal(refused: list[str], layers: _confine.Layers) -> None:
    """A layer the policy requires could not be applied: say which, never run the code."""
    why = "; ".join(f"{name}: {layers.reasons.get(name, '?')}" for name in refused)
    msg = {"op": "event", "event": {"kind": "sandbox", "event": "layers", **layers.to_dict()}}
    _codec.write_frame(CHAN_OUT, msg)
    _codec.write_frame(CHAN_OUT, {
        "op": "loaded", "status": "error", "exc_type": "SandboxUnavailableError",
        "error": f"sandbox layers required by the policy could not be applied ({why}); fix the "
        "host (see docs/sandbox.md) or list them in the policy's sandbox.allow_missing_layers",
    })  # fmt: skip
    os._exit(0)
