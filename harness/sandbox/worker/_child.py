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


def serve(job: dict[str, Any], layers: dict[str, Any]) -> None:
    """Load the module, then answer call frames until the channel closes.  Never returns."""
    send_fd, recv_fd = CHAN_OUT, CHAN_IN

    def send(msg: dict[str, Any]) -> None:
        _codec.write_frame(send_fd, msg)

    def recv() -> Any:
        return _codec.read_frame(recv_fd)

    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False),
        write_through=True,
        encoding="utf-8",
        errors="backslashreplace",
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        write_through=True,
        encoding="utf-8",
        errors="backslashreplace",
    )
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    rpc = make_rpc(send, recv)
    make_proxy = make_proxy_factory(rpc)
    send({"op": "event", "event": {"kind": "sandbox", "event": "layers", **layers}})
    # Pre-forked and confined while the worker was idle: now wait for the job's source.
    while True:
        try:
            first = recv()
        except BaseException:  # noqa: B036 - the worker went away before a job came
            os._exit(0)
        if isinstance(first, dict) and first.get("op") == "load":
            break
    job = dict(job, source=str(first.get("source") or ""), filename=first.get("filename"),
               as_script=bool(first.get("as_script")))  # fmt: skip
    filename = os.path.join(
        os.getcwd(), os.path.basename(str(job.get("filename") or "candidate.py"))
    )
    as_script = bool(job.get("as_script"))
    module = types.ModuleType("__main__" if as_script else "candidate")
    module.__file__ = filename
    namespace = module.__dict__
    start, cpu0 = time.monotonic(), 0.0
    try:
        with open(filename, "w", encoding="utf-8") as f:  # for tracebacks with source lines
            f.write(job["source"])
    except OSError:
        pass
    _seed_rngs(job["source"])
    try:
        code = compile(job["source"], filename, "exec", dont_inherit=True)
    except BaseException as exc:  # noqa: B036 - a syntax error is a result
        send({"op": "loaded", **_failure(exc), **_usage(cpu0, start)})
        os._exit(0)
    install_audit_hook(
        send,
        frozenset(job.get("allow_imports") or ()),
        tuple(job.get("readable") or ()),
        tuple(job.get("writable") or ()),
        code,
    )
    sys.modules[module.__name__] = module
    namespace["__builtins__"] = guarded_builtins(send, frozenset(job.get("allow_imports") or ()))
    IMPORTS_LIVE.append(True)
    try:
        exec(code, namespace)
        loaded: dict[str, Any] = {"status": "ok"}
    except SystemExit as exc:
        ok = exc.code in (None, 0)
        loaded = {"status": "ok"} if ok and as_script else _failure(exc)
    except BaseException as exc:  # noqa: B036 - untrusted code raising anything is a result
        loaded = _failure(exc)
    send({"op": "loaded", **loaded, **_usage(cpu0, start)})
    while True:
        try:
            msg = recv()
        except BaseException:  # noqa: B036 - channel closed: the job is over
            os._exit(0)
        if msg.get("op") != "call":
            continue
        start = time.monotonic()
        cpu0 = _usage(0.0, start)["cpu_s"]
        try:
            fn = namespace[msg["entry"]]
            args = _codec.decode(msg.get("args") or [], make_proxy)
            kwargs = _codec.decode(msg.get("kwargs") or {}, make_proxy)
            value = fn(*args, **kwargs)
            result: dict[str, Any] = {"status": "ok", "value": _codec.encode(value)}
        except KeyError as exc:
            if exc.args and exc.args[0] == msg.get("entry") and msg.get("entry") not in namespace:
                result = {"status": "error", "error": f"no such entry point: {msg.get('entry')}"}
            else:
                result = _failure(exc)
        except BaseException as exc:  # noqa: B036 - anything the call raises is a result
            result = _failure(exc)
        try:
            send({"op": "result", **result, **_usage(cpu0, start)})
        except _codec.FrameError as exc:
            send({"op": "result", "status": "error", "error": f"result not sendable: {exc}"})


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
    if bpf is None:
        layers.check("seccomp", "no filter (pyseccomp unavailable)")
    else:
        layers.check("seccomp", _confine.load_seccomp(bpf))
    layers.info["seccomp"] = "seccomp" in layers.applied


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
    layers.check("private_tmp", c.mount_tmpfs_at("/tmp", size, 1024))
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


def enter(job: dict[str, Any], fds: tuple[int, int, int, int], workdir: str, w: Any) -> None:
    """In the freshly forked job process: everything up to loading the untrusted module."""
    c_in_r, c_out_w, out_w, err_w = fds
    _confine.set_pdeathsig(signal.SIGKILL)
    os.setsid()
    layers = w.layer_state.copy()
    if w.config.get("job_ns"):
        if _job_namespaces(w.config, layers):
            pid = os.fork()
            if pid:  # the job's reaper, outside its pid namespace: mirrors how it ended
                os.closerange(0, 1 << 16)
                while True:
                    try:
                        _, status = os.waitpid(pid, 0)
                        break
                    except InterruptedError:
                        continue
                _mirror_exit(status)
            _confine.set_pdeathsig(signal.SIGKILL)
            c = _confine
            proc_flags = c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC
            layers.check("private_proc", c.mount("proc", "/proc", "proc", proc_flags))
            job["writable"] = [*job["writable"], "/tmp", "/dev/shm"]
    else:
        for name in ("mountns", "pidns", "ipcns", "tmpfs_workdir", "private_tmp", "private_shm",
                     "private_proc"):  # fmt: skip
            layers.check(name, w.config.get("job_ns_error") or "per-job namespaces unavailable")
    if w.config.get("isolation") == "gvisor":
        layers.check("unprivileged_uid", _confine.become(_confine.NOBODY, _confine.NOBODY))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.chdir(workdir)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(c_in_r, 5)
    os.dup2(c_out_w, 6)
    os.dup2(5, CHAN_IN)
    os.dup2(6, CHAN_OUT)
    os.closerange(CHAN_OUT + 1, 1 << 16)
    os.environ.clear()
    os.environ.update(
        HOME=workdir,
        TMPDIR=workdir,
        PATH="/nonexistent",
        LANG="C.UTF-8",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
    )
    tempfile.tempdir = workdir
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    bpf = _confine.bind_pid(w.bpf, os.getpid()) if w.bpf is not None else None
    if os.geteuid() == 0 and w.config.get("isolation") != "gvisor":
        layers.info["uid_inside"] = 0
    confine(job, w.config, bpf, layers)
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
