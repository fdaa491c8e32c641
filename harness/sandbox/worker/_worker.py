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

import collections  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import TYPE_CHECKING, Any, NoReturn  # noqa: E402

import _cgroup  # noqa: E402
import _codec  # noqa: E402

if TYPE_CHECKING:  # the shipped sibling, seen by mypy under its package name
    from stopbox.harness.sandbox.worker import _confine
else:
    import _confine
import _profile  # noqa: E402
import helpers  # noqa: E402, F401 - preloaded for untrusted improvers
from _jobrun import JobRun, Zygote  # noqa: E402

try:
    import numpy  # noqa: F401 - preloaded so every job forks warm
except ImportError:  # pragma: no cover
    pass


SEND_DEADLINE_S = 60.0
CGROUP_FDS: dict[str, int] = {}
"""In the worker: its and the zygote's socket to the launcher's cgroup service (_cgroup)."""


class Worker:
    def __init__(self, in_fd: int, out_fd: int, opts: dict[str, str] | None = None) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.opts = dict(opts or {})
        self.in_reader = _codec.FrameReader()
        self.inbox: list[Any] = []
        self.config: dict[str, Any] = {}
        self.bpf: bytes | None = None
        self.bpf_error: str | None = None
        self.layers: dict[str, Any] = {}
        self.jobs_dir: str | None = None
        self.allow_missing: set[str] = set()
        self.prefork = False
        self.cgroups: _cgroup.Client | None = None
        self.corpses: list[JobRun] = []
        self.standby_from: Zygote | None = None
        """The zygote to ask for the next pre-forked child once its last job is buried."""
        """Jobs killed after their answer, not yet reaped (buried when idle, or before their
        zygote forks again)."""
        self.profile = self.opts.get("profile") == "1"

    # --- harness side ----------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        """Write a frame to the harness with a deadline, reading what the harness sends in the
        meantime (so neither side can block the other forever); a harness that reads nothing
        for SEND_DEADLINE_S ends this worker (it is replaced)."""
        data = memoryview(_codec.dumps_frame(msg))
        deadline = time.monotonic() + SEND_DEADLINE_S
        while data:
            try:
                data = data[os.write(self.out_fd, data) :]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit("stopbox worker: the harness stopped reading")
            readable, _, _ = select.select([self.in_fd], [self.out_fd], [], left)
            if readable:
                self._read_harness()

    def _read_harness(self) -> None:
        data = os.read(self.in_fd, 1 << 20)
        if not data:
            raise EOFError
        self.inbox.extend(self.in_reader.feed(data))

    def recv(self) -> Any:
        while not self.inbox:
            self._read_harness()
        return self.inbox.pop(0)

    # --- set-up ------------------------------------------------------------------------------
    def init(self, config: dict[str, Any], layers: _confine.Layers) -> None:
        self.config = config
        self.config["landlock_abi"] = _confine.landlock_abi()
        self.config["isolation"] = layers.info.get("isolation", "host")
        self.config["private_root"] = "private_root" in layers.applied
        here = WORKER_MOUNT if self.config["private_root"] else WORKER_DIR
        self.read_paths = sorted({*_confine.default_read_paths(here), *config["paths"]["read"]})
        err = _probe_job_namespaces(config)
        self.config["job_ns"] = err is None
        self.config["job_ns_error"] = err
        if err:
            layers.info["job_namespaces_error"] = err
        sc = config["syscalls"]
        self.config["denials"] = _denial_mode(sc["action"], self.config["isolation"])
        # path changes reach the job's reaper: by user notification on the host kernel, by
        # tracing under gVisor; only with per-job namespaces (no reaper without them)
        watch = "trace" if self.config["isolation"] == "gvisor" else "notify"
        self.config["path_watch"] = watch if err is None else None
        self.syscall_names = _confine.syscall_names()
        # KILL_PROCESS needs kernel support libseccomp can detect (gVisor lacks it): fall back to
        # killing the thread, and say so in the layers event.
        for kill in ("kill", "kill_thread"):
            action = {"kill": kill, "monitor": "notify"}.get(self.config["denials"], kill)
            # Killing only the calling thread (gVisor has no KILL_PROCESS) would let a denied
            # syscall in a second thread die unseen while the main thread answers: where the
            # filter can only kill a thread, a job may not start threads at all.
            deny = [*sc["deny"], *(["clone"] if kill == "kill_thread" else [])]
            try:
                self.bpf = _confine.compile_seccomp(
                    deny, sc["allow"], action, _confine.PID_PLACEHOLDER, kill,
                    trace_writes=self.config["path_watch"] == "trace",
                    notify_paths=self.config["path_watch"] == "notify",
                )  # fmt: skip
                layers.info["seccomp_action"] = action
                layers.info["seccomp_escape_action"] = kill
                break
            except Exception as exc:  # pyseccomp missing or libseccomp refused
                self.bpf_error = f"{type(exc).__name__}: {exc}"
        layers.info["landlock_abi"] = self.config["landlock_abi"]
        self.allow_missing = {a for a in self.opts.get("allow-missing", "").split(",") if a}
        self.layer_state = layers
        if self.profile:  # bench/sandbox.py: where a job's time goes (wraps _confine)
            _profile.install(layers.info)
        self.layers = layers.to_dict()
        self.proc_fd = os.open("/proc", os.O_PATH | os.O_DIRECTORY)  # for the jobs' reapers
        if "worker" in CGROUP_FDS:
            self.cgroups = _cgroup.Client(CGROUP_FDS.pop("worker"))
        # Two zygotes, made before any job data exists here, each in a cgroup of its own (its
        # jobs are born there); they take turns, so the running job and the next job's
        # pre-forked child never share a cgroup.
        self.zygotes: list[Zygote] = []
        for i in range(2):
            mine = CGROUP_FDS.pop(f"zygote{i}", None)  # the worker closes it once forked
            others = [fd for k, fd in CGROUP_FDS.items() if k.startswith("zygote")]
            others += [z.sock.fileno() for z in self.zygotes]
            if self.cgroups is not None:
                others.append(self.cgroups.fileno())
            self.zygotes.append(Zygote(self, mine, tuple(others)))
        self.turn = 0
        self.mount_baseline = _mount_counts(self.proc_fd)

    def drop_job_mounts(self) -> None:
        """gVisor, once a job is gone: take down what its mount namespace left in ours.

        runsc 20221219 shows a mount made in a fresh mount namespace in the parent's as well, so
        every job's workdir, /tmp, /dev/shm and /proc (and their tmpfs pages) stayed stacked
        under the next job's for the worker's life, until the sandbox ran out of memory.  Not
        while a pre-forked child waits: its mounts would be among them."""
        if any(z.pending or z.ready is not None for z in self.zygotes):
            return
        extra = _mount_counts(self.proc_fd) - self.mount_baseline
        for target in sorted(extra, key=lambda path: path.count("/"), reverse=True):
            for _ in range(extra[target]):
                _confine.unmount(target)

    def bury(self, block: bool, zygote: Zygote | None = None) -> None:
        """Reap the killed jobs (of one zygote, when given)."""
        for job in list(self.corpses):
            if zygote is None or job.z is zygote:
                if job.bury(block):
                    self.corpses.remove(job)

    def maybe_request(self, block: bool) -> None:
        """Ask ``standby_from`` for the next job's child once its previous job is buried."""
        z = self.standby_from
        if z is None:
            return
        self.bury(block=block, zygote=z)
        if any(job.z is z for job in self.corpses):
            return
        z.request(SCRATCH)
        self.standby_from = None

    def _harness_waiting(self) -> bool:
        return bool(self.inbox) or bool(select.select([self.in_fd], [], [], 0)[0])

    def pick_zygote(self) -> Zygote:
        """The zygote holding the pre-forked child, else the one whose turn it is."""
        for z in self.zygotes:
            if z.pending or z.ready is not None:
                return z
        return self.zygotes[self.turn]

    def other_zygote(self, z: Zygote) -> Zygote:
        other = self.zygotes[1 - self.zygotes.index(z)]
        self.turn = self.zygotes.index(other)
        return other

    # --- main loop ---------------------------------------------------------------------------
    def run(self) -> None:
        msg = self.recv()
        if msg.get("op") != "init":
            raise SystemExit("stopbox worker: expected an init frame")
        layers = enter_namespaces(msg["config"], self.opts)
        self.init(msg["config"], layers)
        self.send(
            {"op": "ready", "pid": os.getpid(), "layers": self.layers, "jobs_dir": self.jobs_dir}
        )
        # Pre-fork: the next job's child is asked of the zygote ahead of time (when idle, and
        # while a job runs), so it is forked, in its cgroup and confined when its job comes.
        self.prefork = self.opts.get("prefork") == "1" and bool(self.config.get("job_ns"))
        if self.prefork:
            self.zygotes[0].request(SCRATCH)
        while True:
            while (self.corpses or self.standby_from) and not self._harness_waiting():
                self.bury(block=False)  # idle: reap the last job as it dies, but never keep
                self.maybe_request(block=False)  # the next job waiting (it may come at once)
                if self.corpses or self.standby_from:
                    select.select([self.in_fd], [], [], 0.002)
            try:
                msg = self.recv()
            except EOFError:
                return
            op = msg.get("op")
            if op == "job":
                job = JobRun(self)
                job.preforked = any(z.pending or z.ready is not None for z in self.zygotes)
                try:
                    job.run(msg)
                except (EOFError, SystemExit, KeyboardInterrupt):
                    raise
                except BaseException:  # noqa: B036 - the worker survives every job
                    traceback.print_exc()
                if self.prefork and self.config.get("isolation") != "host":
                    self.other_zygote(getattr(job, "z", self.zygotes[0])).request(SCRATCH)
            elif op == "ping":
                self.send({"op": "pong"})
            elif op == "exit":
                return


def _denial_mode(action: str, isolation: str) -> str:
    """How a denied syscall becomes visible outside the job.

    ``monitor`` (the host kernel): seccomp user notification, answered by the job's reaper with
    the policy's errno and recorded there.  ``kill``: every denial kills the job (SIGSYS, seen by
    the reaper) -- the policy's own ``kill`` action, and the stronger mode standing in under
    gVisor, whose kernel (runsc 20221219) has no SECCOMP_RET_USER_NOTIF; there the reaper
    traces the job instead to see its write-opens (SECCOMP_RET_TRACE, :mod:`_monitor`)."""
    if action != "errno":
        return "kill"
    return "kill" if isolation == "gvisor" else "monitor"


_PRELOAD = (
    "math", "random", "itertools", "functools", "collections", "heapq", "bisect", "typing",
    "dataclasses", "re", "time", "statistics", "copy", "operator", "string", "fractions",
    "decimal", "enum", "abc", "json", "traceback", "linecache", "numpy.random", "numpy.linalg",
    "numpy.fft",
)  # fmt: skip
"""Imported before any job forks: faster jobs, and they work after the uid drop."""


WORKER_MOUNT = _confine.WORKER_MOUNT
SCRATCH = _confine.SCRATCH
_ROOTFS_SKIP = {"proc", "dev", "sys", "tmp", SCRATCH.lstrip("/"), ".stopbox-rootfs"}
# ``tmp`` is private per job; what the root filesystem holds under it (an interpreter or venv
# below /tmp) is bound read-only at HOST_TMP and again under /tmp (see _bind_host_tmp).
_NS_WORKER = (
    ("userns", _confine.CLONE_NEWUSER), ("mountns_worker", _confine.CLONE_NEWNS),
    ("netns", _confine.CLONE_NEWNET), ("utsns", _confine.CLONE_NEWUTS),
    ("cgroupns", _confine.CLONE_NEWCGROUP), ("ipcns_worker", _confine.CLONE_NEWIPC),
    ("pidns_worker", _confine.CLONE_NEWPID),
)  # fmt: skip


def _job_cgroups(config: dict[str, Any], layers: _confine.Layers) -> _cgroup.JobCgroups | None:
    """The per-job cgroup manager the launcher runs (None, and the layer missing, when the
    harness's cgroup hierarchy does not let us make one)."""
    try:
        mgr = _cgroup.JobCgroups(int(config.get("owner_pid") or os.getppid()), config["limits"])
        probe = mgr.create(0)
        mgr.remove(0)
    except OSError as exc:
        layers.check("cgroup", str(exc) or type(exc).__name__)
        return None
    layers.check("cgroup", None)
    layers.info["cgroup"] = {"version": mgr.version, "memory_mb": mgr.memory >> 20,
                             "pids": mgr.pids, "parent": os.path.dirname(probe[0])}  # fmt: skip
    return mgr


def _close_all_but(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _split_into_userns(layers: _confine.Layers, config: dict[str, Any]) -> bool:
    """Fork into fresh user, mount, net, uts, cgroup, ipc and pid namespaces, the inside root
    mapped to an unprivileged host uid (65534 when we are root, else our own uid).

    The process that started stays behind on the host side only to write the id maps (a
    process in the parent namespace must write them to map anything but its own uid) and to
    serve the job cgroups and wait; it closes every fd first.  Returns True in the new worker
    (pid 1 of its pid namespace), False when the namespaces could not be made (the caller goes
    on, degraded).  All or nothing: no silent fallback to fewer namespaces.
    """
    host_uid = _confine.NOBODY if os.geteuid() == 0 else os.geteuid()
    host_gid = _confine.NOBODY if os.geteuid() == 0 else os.getegid()
    up_r, up_w = os.pipe()
    go_r, go_w = os.pipe()
    mgr = _job_cgroups(config, layers)
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
             for _ in range(3 if mgr else 0)]  # fmt: skip
    middle = os.fork()
    if middle:  # host side: write the maps, then serve the job cgroups and wait (never returns)
        os.close(up_w)
        os.close(go_r)
        for _, theirs in pairs:
            theirs.close()
        if not _write_id_maps(middle, (up_r, go_w), host_uid, host_gid, layers):
            return False
        _launcher_serve(middle, [ours for ours, _ in pairs], mgr)
    os.close(up_r)
    os.close(go_w)
    for (ours, theirs), role in zip(pairs, ("zygote0", "zygote1", "worker"), strict=False):
        ours.close()
        CGROUP_FDS[role] = theirs.detach()
    _enter_worker_namespaces(up_w, go_r)
    for name, _ in _NS_WORKER:
        layers.check(name, None)
    layers.info["host_uid"] = host_uid
    return True


def _write_id_maps(middle: int, fds: tuple[int, int], host_uid: int, host_gid: int,
                   layers: _confine.Layers) -> bool:  # fmt: skip
    """Launcher: once ``middle`` has unshared, map its inside root to the host uid/gid and say
    so on the go pipe.  False (the namespaces are missing) when it could not unshare."""
    up_r, go_w = fds
    msg = os.read(up_r, 4096)
    if msg != b"U":
        os.close(go_w)
        os.waitpid(middle, 0)
        for name, _ in _NS_WORKER:
            layers.check(name, msg.decode("utf-8", "replace") or "unshare failed")
        return False
    try:
        if os.geteuid() != 0:
            with open(f"/proc/{middle}/setgroups", "w") as fh:
                fh.write("deny")
        with open(f"/proc/{middle}/uid_map", "w") as fh:
            fh.write(f"0 {host_uid} 1")
        with open(f"/proc/{middle}/gid_map", "w") as fh:
            fh.write(f"0 {host_gid} 1")
        os.write(go_w, b"M")
    except OSError as exc:
        os.write(go_w, f"E{exc}".encode())
    return True


def _launcher_serve(middle: int, mine: list[socket.socket], mgr: Any) -> NoReturn:
    """Launcher: keep only the cgroup sockets, serve the job cgroups until the worker and its
    zygotes are gone, then end as the worker ended."""
    _close_all_but({s.fileno() for s in mine})
    try:
        if mgr is not None:
            _cgroup.serve(mine, mgr)  # until the worker and its zygote are gone
    finally:
        _, status = os.waitpid(middle, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _enter_worker_namespaces(up_w: int, go_r: int) -> None:
    """Middle: unshare every worker namespace, wait for the id maps, then fork the worker
    proper (pid 1 of the new pid namespace); the middle stays as its unprivileged waiter.
    Returns in the worker."""
    flags = 0
    for _, flag in _NS_WORKER:
        flags |= flag
    _confine.set_pdeathsig(signal.SIGKILL)
    err = _confine.unshare(flags)
    if err:
        os.write(up_w, err.encode())
        os._exit(0)
    os.write(up_w, b"U")
    got = os.read(go_r, 4096)
    if got != b"M":
        sys.stderr.write(f"stopbox worker: id maps not written: {got.decode(errors='replace')}\n")
        os._exit(71)
    inner = os.fork()
    if inner:
        os.closerange(0, 1 << 16)
        _confine.become(0, 0)  # this waiter, too, holds only the unprivileged host uid
        _, status = os.waitpid(inner, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _confine.set_pdeathsig(signal.SIGKILL)


_Sources = tuple[
    list[tuple[str, "int | str"]], "int | None", int, list[tuple[str, bool, bool, int]]
]


def _open_root_sources(rootfs: str, extra: list[tuple[str, bool]]) -> _Sources:
    """O_PATH fds (or symlink targets) of everything the private root binds, opened while we
    still reach host paths as their owner: after the switch to the unprivileged uid only these
    fds lead there (/proc/self/fd/N binds).  Raises OSError."""
    fds: list[tuple[str, int | str]] = []  # (name in the root, O_PATH fd or symlink target)
    for entry in sorted(os.listdir(rootfs)):
        if entry in _ROOTFS_SKIP:
            continue
        src = os.path.join(rootfs, entry)
        if os.path.islink(src):
            fds.append((entry, os.readlink(src)))
        else:
            fds.append((entry, os.open(src, os.O_PATH | os.O_NOFOLLOW)))
    tmp_src = os.path.join(rootfs, "tmp")
    tmp_entries = sorted(os.listdir(tmp_src)) if os.path.isdir(tmp_src) else []
    tmp_fd = os.open(tmp_src, os.O_PATH | os.O_DIRECTORY) if tmp_entries else None
    wfd = os.open(WORKER_DIR, os.O_PATH | os.O_DIRECTORY)
    extra_fds = []
    for path, writable in extra:
        if os.path.exists(path):
            extra_fds.append((os.path.abspath(path), os.path.isdir(path), writable,
                              os.open(path, os.O_PATH)))  # fmt: skip
    return fds, tmp_fd, wfd, extra_fds


def _bind_fd(fd: int, dst: str, *, is_dir: bool, readonly: bool) -> str | None:
    """Make the mount point ``dst`` and bind the O_PATH ``fd`` there (then close it)."""
    if is_dir:
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "a").close()
    err = _confine.bind(f"/proc/self/fd/{fd}", dst, readonly=readonly)
    os.close(fd)
    return err


def _bind_rootfs(stage: str, fds: list[tuple[str, int | str]], tmp_fd: int | None) -> str | None:
    """The root filesystem's entries (read-only), the empty mount points, and its ``tmp/``
    entries (an interpreter or venv living under /tmp stays visible under a private /tmp)."""
    c = _confine
    for entry, what in fds:
        dst = os.path.join(stage, entry)
        if isinstance(what, str):
            os.symlink(what, dst)
            continue
        err = _bind_fd(what, dst, is_dir=os.path.isdir(f"/proc/self/fd/{what}"), readonly=True)
        if err:
            return err
    for d in ("proc", "dev", "tmp", SCRATCH.lstrip("/"), WORKER_MOUNT.lstrip("/")):
        os.makedirs(os.path.join(stage, d), exist_ok=True)
    os.chmod(os.path.join(stage, "tmp"), 0o1777)
    if tmp_fd is None:
        return None
    err = _bind_fd(tmp_fd, stage + c.HOST_TMP, is_dir=True, readonly=True)
    return err or c.bind_host_tmp(stage + c.HOST_TMP, os.path.join(stage, "tmp"))


def _build_root(rootfs: str, extra: list[tuple[str, bool]], layers: _confine.Layers) -> str | None:
    """Assemble the private root on a tmpfs over the worker directory and pivot_root into it:
    the read-only root filesystem (interpreter, allowed packages, shared libraries; never the
    harness), the worker files at WORKER_MOUNT, /proc of this pid namespace, a minimal /dev,
    and the extra paths the policy lists.  Runs before the uid switch (host paths such as
    /root/.pyenv are reached as their owner), in our own user and mount namespaces."""
    c = _confine
    err = c.mount(None, "/", None, c.MS_REC | c.MS_PRIVATE)
    if err:
        return err
    try:
        fds, tmp_fd, wfd, extra_fds = _open_root_sources(rootfs, extra)
    except OSError as exc:
        return f"rootfs {rootfs}: {exc}"
    if not layers.check("unprivileged_uid", c.become(0, 0)):
        return "cannot switch to the unprivileged uid"
    stage = WORKER_DIR
    err = c.mount_tmpfs_at(stage, 16, 4096, mode="0755") or _bind_rootfs(stage, fds, tmp_fd)
    err = err or _bind_fd(wfd, stage + WORKER_MOUNT, is_dir=True, readonly=True)
    for path, is_dir, writable, fd in extra_fds:
        err = err or _bind_fd(fd, stage + path, is_dir=is_dir, readonly=not writable)
    if err:
        return err
    layers.check("minimal_dev", _minimal_dev(stage + "/dev"))
    proc_flags = c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC
    layers.check("private_proc_worker", c.mount("proc", stage + "/proc", "proc", proc_flags))
    err = c.mount(None, stage, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | c.MS_NOSUID |
                  c.MS_NODEV)  # fmt: skip
    if err:
        return err
    return c.pivot_root(stage)


def _minimal_dev(dev: str) -> str | None:
    """/dev with null, zero, urandom (bound from the host), shm (a mount point), fd links."""
    c = _confine
    err = c.mount_tmpfs_at(dev, 1, 64, noexec=True, mode="0755")
    if err:
        return err
    for name in ("null", "zero", "urandom"):
        open(os.path.join(dev, name), "w").close()
        err = c.mount(f"/dev/{name}", os.path.join(dev, name), None, c.MS_BIND)
        if err:
            return err
    os.mkdir(os.path.join(dev, "shm"))
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, os.path.join(dev, name))
    return c.mount(None, dev, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | c.MS_NOSUID |
                   c.MS_NODEV | c.MS_NOEXEC)  # fmt: skip


def _mount_counts(proc_fd: int) -> collections.Counter[str]:
    """How many mounts are stacked at each mount point of this mount namespace (read through
    the worker's own /proc: a leaked job /proc may cover the path)."""
    fd = os.open("self/mountinfo", os.O_RDONLY, dir_fd=proc_fd)
    with open(fd, encoding="utf-8", errors="replace") as fh:
        return collections.Counter(line.split()[4] for line in fh if len(line.split()) > 4)


def _probe_job_namespaces(config: dict[str, Any]) -> str | None:
    """Can a job get its own mount, pid and IPC namespaces and its tmpfs mounts here?  Tried
    once per worker in a throw-away child; None when yes, else the reason."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        c = _confine
        err = c.unshare(c.CLONE_NEWNS | c.CLONE_NEWPID | c.CLONE_NEWIPC)
        if err is None:
            c.mount(None, "/", None, c.MS_REC | c.MS_PRIVATE)
            err = c.mount_tmpfs_at(c.SCRATCH, 1, 16) or c.mount_tmpfs_at("/tmp", 1, 16)
            # gVisor (runsc 20221219) shows a mount made in a child's fresh mount namespace in
            # the parent's as well: a probe mount left there would hide a venv under /tmp from
            # the worker's own imports.  Take them down before leaving.
            for target in ("/tmp", c.SCRATCH):
                c.unmount(target)
        os.write(w, (err or "").encode()[:4000])
        os._exit(0)
    os.close(w)
    msg = b""
    while chunk := os.read(r, 4096):
        msg += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return msg.decode("utf-8", "replace") or None


def enter_namespaces(config: dict[str, Any], opts: dict[str, str]) -> _confine.Layers:
    """Confine this worker (and so every job it forks) according to its isolation mode.

    ``host`` (the seccomp backend): fresh user, mount, net, uts, cgroup, ipc and pid namespaces
    with the inside root mapped to an unprivileged host uid, and a private root filesystem
    (``--rootfs``) pivoted into.  ``gvisor`` (gvisor and docker backends): gVisor is the kernel
    boundary and stands in for the user namespace; its OCI spec / docker give the worker its own
    net, uts, ipc, mount and pid namespaces and the read-only root; jobs drop to nobody.
    Per-job namespaces (mount, pid, ipc) are made for each job by :mod:`_child`.
    """
    layers = _confine.Layers()
    mode = opts.get("isolation", "host")
    layers.info["isolation"] = mode
    layers.info["uid_before"] = os.geteuid()
    if mode == "gvisor":
        layers.check("gvisor_kernel", None)
        layers.info["cgroup"] = "the gVisor sandbox's memory and pids limits (gVisor stands in)"
        layers.info["job_uid"] = _confine.NOBODY
        return layers
    if not _split_into_userns(layers, config):
        layers.check("private_root", "no user/mount namespace")
        return layers
    extra = [(p, False) for p in config["paths"]["read"]]
    extra += [(p, True) for p in config["paths"]["write"]]
    rootfs = opts.get("rootfs")
    err = _build_root(rootfs, extra, layers) if rootfs else "no --rootfs given"
    if layers.check("private_root", err):
        sys.path[:] = [WORKER_MOUNT if p == WORKER_DIR else p for p in sys.path]
    layers.check("hostname", _confine.sethostname("stopbox"))
    if "unprivileged_uid" not in layers.applied:
        layers.check("unprivileged_uid", _confine.become(0, 0))
    return layers


def _forget_the_harness() -> None:
    """Drop import hooks that lead to the harness package (an editable install's finder, put
    in place by a .pth file at interpreter start): a job must not even import its namespace."""

    def harness_hook(obj: Any) -> bool:
        owner = getattr(obj, "__module__", "") or type(obj).__module__
        name = getattr(obj, "__qualname__", "") or type(obj).__qualname__
        return "editable" in f"{owner}.{name}".lower()

    sys.meta_path[:] = [f for f in sys.meta_path if not harness_hook(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not harness_hook(h)]
    sys.path_importer_cache.clear()
    for name in [m for m in sys.modules if m == "stopbox" or m.startswith("stopbox.")]:
        del sys.modules[name]


def main() -> None:
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print in the worker must never corrupt the protocol
    os.set_inheritable(in_fd, False)
    os.set_inheritable(out_fd, False)
    os.set_blocking(out_fd, False)  # writes to the harness have a deadline (Worker.send)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a dead pipe is an error, never our death
    _forget_the_harness()
    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    gc.collect()
    gc.freeze()  # forked jobs then share these pages instead of copying them
    opts = dict(a[2:].partition("=")[::2] for a in sys.argv[1:] if a.startswith("--"))
    try:
        Worker(in_fd, out_fd, opts).run()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
