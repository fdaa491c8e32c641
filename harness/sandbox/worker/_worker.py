"""stopbox worker: a small trusted process that forks one confined child per job.

Run as ``python3 -I <dir>/_worker.py`` with ``_child.py``, ``_codec.py``, ``_confine.py`` and
``helpers.py`` beside it.  Uses only the standard library, numpy (preloaded so jobs fork warm)
and pyseccomp; imports nothing from ``harness``.

Protocol on stdin/stdout (frames: 4-byte big-endian length + UTF-8 JSON):

    harness -> worker: init {config} | job {source, filename, as_script} | call {entry, args,
                       kwargs, timeout} | rpc_reply {value | error} | close | exit
    worker -> harness: ready {layers} | loaded {result} | rpc {obj, method, args, kwargs} |
                       result {result} | closed {result}

One job at a time per worker.  Per-call wall time and timeouts are measured here, on the trusted
side of the child's pipe; on timeout, memory or output-cap breach the whole job (its reaper and
pid namespace) is killed.
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
WORKER_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, WORKER_DIR)

import gc  # noqa: E402
import importlib  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

import _codec  # noqa: E402
import _confine  # noqa: E402
import helpers  # noqa: E402, F401 - preloaded for untrusted improvers
from _jobrun import JobRun  # noqa: E402

try:
    import numpy  # noqa: F401 - preloaded so every job forks warm
except ImportError:  # pragma: no cover
    pass


class Worker:
    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.in_reader = _codec.FrameReader()
        self.inbox: list[Any] = []
        self.config: dict[str, Any] = {}
        self.bpf: bytes | None = None
        self.bpf_error: str | None = None
        self.layers: dict[str, Any] = {}
        self.jobs_dir: str | None = None

    # --- harness side ----------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        _codec.write_frame(self.out_fd, msg)

    def recv(self) -> Any:
        while not self.inbox:
            data = os.read(self.in_fd, 1 << 20)
            if not data:
                raise EOFError
            self.inbox.extend(self.in_reader.feed(data))
        return self.inbox.pop(0)

    # --- set-up ------------------------------------------------------------------------------
    def init(self, config: dict[str, Any], layers: dict[str, Any]) -> None:
        self.config = config
        self.config["landlock_abi"] = _confine.landlock_abi()
        self.read_paths = sorted(
            {*_confine.default_read_paths(WORKER_DIR), *config["paths"]["read"]}
        )
        sc = config["syscalls"]
        # KILL_PROCESS needs kernel support libseccomp can detect (gVisor lacks it): fall back to
        # killing the thread, and say so in the layers event.
        actions = [sc["action"], "kill_thread"] if sc["action"] == "kill" else [sc["action"]]
        for action in actions:
            try:
                self.bpf = _confine.compile_seccomp(
                    sc["deny"], sc["allow"], action, _confine.PID_PLACEHOLDER
                )
                layers["seccomp_action"] = action
                break
            except Exception as exc:  # pyseccomp missing or libseccomp refused
                self.bpf_error = f"{type(exc).__name__}: {exc}"
        self.layers = {**layers, "landlock_abi": self.config["landlock_abi"]}

    # --- main loop ---------------------------------------------------------------------------
    def run(self) -> None:
        msg = self.recv()
        if msg.get("op") != "init":
            raise SystemExit("stopbox worker: expected an init frame")
        layers, self.jobs_dir = enter_namespaces(msg["config"])
        self.init(msg["config"], layers)
        self.send(
            {"op": "ready", "pid": os.getpid(), "layers": self.layers, "jobs_dir": self.jobs_dir}
        )
        while True:
            try:
                msg = self.recv()
            except EOFError:
                return
            op = msg.get("op")
            if op == "job":
                JobRun(self, msg).run()
            elif op == "ping":
                self.send({"op": "pong"})
            elif op == "exit":
                return


_PRELOAD = (
    "math", "random", "itertools", "functools", "collections", "heapq", "bisect", "typing",
    "dataclasses", "re", "time", "statistics", "copy", "operator", "string", "fractions",
    "decimal", "enum", "abc", "json", "traceback", "linecache", "numpy.random", "numpy.linalg",
    "numpy.fft",
)  # fmt: skip
"""Imported before any job forks: faster jobs, and they work after the uid drop."""


def enter_namespaces(config: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Put this worker (and so every job it forks) in fresh user, mount, net and pid namespaces.

    Root drops to nobody first when the interpreter is readable by others.  Job workdirs go on a
    tmpfs private to this worker, capped in size and inodes.  With a new pid namespace the
    process forks once: the child is pid 1 there and carries on as the worker, the parent only
    waits for it, so when the worker dies every job process dies with it.
    Returns the layers that applied and the directory for job workdirs (None: the default).
    """
    layers: dict[str, Any] = {"uid_before": os.geteuid()}
    prefixes = (sys.prefix, sys.base_prefix, WORKER_DIR)
    if os.geteuid() == 0 and _confine.shared_prefix_ok(prefixes):
        err = _confine.drop_privileges()
        layers["privileges_dropped"] = err is None
    else:
        layers["privileges_dropped"] = False
        if os.geteuid() == 0:
            layers["privileges_note"] = "interpreter not readable by nobody; uid kept"
    uid, gid = os.geteuid(), os.getegid()
    user, net, pid, mnt = (_confine.CLONE_NEWUSER, _confine.CLONE_NEWNET, _confine.CLONE_NEWPID,
                           _confine.CLONE_NEWNS)  # fmt: skip
    flags = 0
    for flags in (user | mnt | net | pid, user | mnt | net, user | net | pid, user | net, user,
                  mnt | net | pid, net, 0):  # fmt: skip
        if not flags or _confine.unshare(flags) is None:
            break
    if flags & user:
        err = _confine.map_own_ids(uid, gid)
        layers["id_map"] = err is None
    jobs_dir = None
    layers["workdir_tmpfs"] = False
    if flags & mnt:
        owner = int(config.get("owner_pid") or 0)
        jobs_dir = tempfile.mkdtemp(prefix=f"stopbox-jobs-{owner}-")
        quota_mb = max(16, 4 * int(config["limits"]["file_size_mb"]))
        err = _confine.mount_tmpfs(jobs_dir, quota_mb, 4096)
        layers["workdir_tmpfs"] = err is None
        if err:
            layers["workdir_tmpfs_error"] = err
            jobs_dir = None
    layers.update(userns=bool(flags & user), netns=bool(flags & net), pidns=bool(flags & pid),
                  mountns=bool(flags & mnt))  # fmt: skip
    if flags & pid:
        inner = os.fork()
        if inner:
            os.closerange(0, 1 << 16)
            _, status = os.waitpid(inner, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        _confine.set_pdeathsig(signal.SIGKILL)
        layers["pidns"] = os.getpid() == 1
    layers["uid"] = os.geteuid()
    return layers, jobs_dir


def main() -> None:
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print in the worker must never corrupt the protocol
    os.set_inheritable(in_fd, False)
    os.set_inheritable(out_fd, False)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a dead pipe is an error, never our death
    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    gc.collect()
    gc.freeze()  # forked jobs then share these pages instead of copying them
    try:
        Worker(in_fd, out_fd).run()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
