"""Per-job cgroups, made, read and emptied from outside the job.

Standalone (stdlib only): the worker's host-side launcher (host root, outside every namespace
of the worker) imports it from the worker directory; the harness imports it as
``stopbox.harness.sandbox.worker._cgroup`` (stale cleanup, the judges, tests).

Each worker has two zygotes, each in a cgroup of its own, ``stopbox-<owner pid>-<launcher
pid>-<n>-ns<pid ns inode>`` directly under the harness's own cgroup (so every limit above the
harness still applies).  A job is forked by one of them and so is *born* in its cgroup (moving
a process between cgroups waits for an RCU grace period, ~10 ms here; being born there costs
nothing); the zygotes take turns, so the running job and the next job's pre-forked child are
never in the same cgroup, and a cgroup holds one job at a time.  Limits per cgroup:

* memory: ``memory_mb`` + :data:`SLACK_MB` for everything the job's processes charge, *tmpfs
  pages included* (a page of /tmp, /dev/shm or the workdir is charged to the cgroup of the
  process that first touches it), and no swap (memsw / swap.max);
* pids: the policy's ``processes`` + :data:`EXTRA_PIDS`.

Each job makes itself the OOM killer's first choice (oom_score_adj 1000, before any of its
code runs; raising it needs no privilege), so an OOM kill in its cgroup ends the job, never
the zygote.  After each job the launcher kills whatever of it is left in the
cgroup and remembers its OOM-kill count, so "was *this* job OOM-killed" is read from outside
(``memory.oom_control`` in v1, ``memory.events`` in v2).  The cgroups go when the worker does
(or, after a kill -9, at the next start: :func:`remove_stale`).  cgroup v2 is used when it
offers memory and pids, else the v1 ``memory`` and ``pids`` hierarchies.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import time
from typing import Any

PREFIX = "stopbox-"
SLACK_MB = 32
"""Memory over the job's limit for its kernel objects (page tables, pipes), its reaper and the
zygote that forks it (their own pages, copied on write)."""
EXTRA_PIDS = 3
"""The zygote, the job's reaper and the job's pid 1, besides the policy's ``processes``."""


def _unescape(path: str) -> str:
    return path.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")


def _mounts(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root inside the fs, fs type, super options) of every cgroup mount."""
    out = []
    with open(mountinfo) as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields, tail = pre.split(), post.split()
            if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
                continue
            opts = set(tail[2].split(","))
            out.append((_unescape(fields[4]), _unescape(fields[3]), tail[0], opts))
    return out


def _own_paths(proc_cgroup: str = "/proc/self/cgroup") -> dict[str, str]:
    """controller name (v1) or "" (v2) -> this process's cgroup path."""
    out: dict[str, str] = {}
    with open(proc_cgroup) as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) != 3:
                continue
            for ctrl in parts[1].split(",") if parts[1] else [""]:
                out[ctrl] = parts[2]
    return out


def _path(mount: str, root: str, path: str) -> str:
    if root not in ("/", "") and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return os.path.normpath(mount + "/" + path.lstrip("/"))


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def parents(
    mountinfo: str = "/proc/self/mountinfo", proc_cgroup: str = "/proc/self/cgroup"
) -> tuple[int, dict[str, str], str | None]:
    """(version, {"memory": dir, "pids": dir} or {"unified": dir}, why not) of the harness's own
    cgroup directories where job cgroups go; version 0 when neither v2 nor v1 will do."""
    mounts, own = _mounts(mountinfo), _own_paths(proc_cgroup)
    why = []
    for mnt, root, fstype, _ in mounts:
        if fstype != "cgroup2" or "" not in own:
            continue
        d = _path(mnt, root, own[""])
        try:
            ctrls = _read(os.path.join(d, "cgroup.controllers")).split()
        except OSError as exc:
            why.append(f"cgroup v2 at {mnt}: {exc}")
            continue
        if {"memory", "pids"} <= set(ctrls):
            return 2, {"unified": d}, None
        why.append(f"cgroup v2 at {mnt} offers {' '.join(ctrls) or 'no controllers'}, "
                   "not memory+pids")  # fmt: skip
    dirs: dict[str, str] = {}
    for ctrl in ("memory", "pids"):
        for mnt, root, fstype, opts in mounts:
            if fstype == "cgroup" and ctrl in opts and ctrl in own:
                dirs[ctrl] = _path(mnt, root, own[ctrl])
                break
        else:
            why.append(f"no cgroup v1 {ctrl} hierarchy mounted")
    if len(dirs) == 2:
        return 1, dirs, None
    return 0, {}, "; ".join(why) or "no cgroup hierarchy mounted"


def pidns_inode() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def parse_name(name: str) -> tuple[int, int, int, int] | None:
    """(owner pid, launcher pid, job number, pid ns inode) of a job cgroup's name, else None."""
    if not name.startswith(PREFIX):
        return None
    parts = name[len(PREFIX) :].split("-")
    if len(parts) != 4 or not parts[3].startswith("ns"):
        return None
    nums = [*parts[:3], parts[3][2:]]
    if not all(p.isdigit() for p in nums):
        return None
    owner, launcher, n, ns = (int(p) for p in nums)
    return owner, launcher, n, ns


class JobCgroups:
    """The launcher's side: the job cgroups of one worker (one per zygote, holding one job at a
    time) under the harness's own cgroup."""

    def __init__(self, owner: int, limits: dict[str, Any], version: int | None = None,
                 dirs: dict[str, str] | None = None) -> None:  # fmt: skip
        if version is None or dirs is None:
            version, dirs, why = parents()
            if not version:
                raise OSError(why)
        self.version, self.parent_dirs = version, dict(dirs)
        self.base = f"{PREFIX}{owner}-{os.getpid()}"
        self.ns = pidns_inode()
        self.memory = (int(limits["memory_mb"]) + SLACK_MB) << 20
        self.pids = int(limits["processes"]) + EXTRA_PIDS
        self.live: dict[int, list[str]] = {}
        self.zygotes: dict[int, int] = {}  # cgroup number -> the host pid of its zygote
        self.oom_seen: dict[int, int] = {}  # cgroup number -> OOM kills of earlier jobs
        if version == 2:
            self._enable_v2(self.parent_dirs["unified"])
        for d in self.parent_dirs.values():
            if not os.access(d, os.W_OK):
                raise OSError(f"{d} is not writable (the harness must run as root, or be given "
                              "a delegated cgroup)")  # fmt: skip

    @staticmethod
    def _enable_v2(d: str) -> None:
        have = set(_read(os.path.join(d, "cgroup.subtree_control")).split())
        if {"memory", "pids"} <= have:
            return
        try:
            _write(os.path.join(d, "cgroup.subtree_control"), "+memory +pids")
        except OSError as exc:
            raise OSError(f"cannot enable memory+pids for child cgroups of {d} ({exc}); run the "
                          "harness in a delegated cgroup of its own (systemd-run --scope -p "
                          "Delegate=yes ...)") from None  # fmt: skip

    def dirs(self, n: int) -> list[str]:
        name = f"{self.base}-{n}-ns{self.ns}"
        return [os.path.join(d, name) for d in self.parent_dirs.values()]

    def create(self, n: int) -> list[str]:
        """Make cgroup ``n`` (one directory per v1 controller) with its limits."""
        made: list[str] = []
        try:
            for d in self.dirs(n):
                os.mkdir(d, 0o755)
                made.append(d)
                self._limit(d)
        except OSError:
            for d in made:
                _rmdir(d)
            raise
        self.live[n] = made
        return made

    def _limit(self, d: str) -> None:
        mem = str(self.memory)
        if self.version == 2:
            _write(os.path.join(d, "memory.max"), mem)
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                if os.path.exists(os.path.join(d, name)):
                    _write(os.path.join(d, name), value)
            _write(os.path.join(d, "pids.max"), str(self.pids))
        elif os.path.exists(os.path.join(d, "memory.limit_in_bytes")):
            _write(os.path.join(d, "memory.limit_in_bytes"), mem)
            if os.path.exists(os.path.join(d, "memory.memsw.limit_in_bytes")):
                _write(os.path.join(d, "memory.memsw.limit_in_bytes"), mem)
        else:
            _write(os.path.join(d, "pids.max"), str(self.pids))

    def join(self, n: int, pid: int) -> None:
        for d in self.live[n]:
            _write(os.path.join(d, "cgroup.procs"), str(pid))

    def stat(self, n: int) -> dict[str, Any]:
        """{"oom": the kernel OOM-killed a process of the current job, "peak_mb": ...}."""
        got = read_stat(self.live.get(n) or self.dirs(n), self.version)
        got["oom"] = got.pop("oom_kills") > self.oom_seen.get(n, 0)
        return got

    def end(self, n: int) -> dict[str, Any]:
        """A job of cgroup ``n`` is over: kill whatever of it is left (everything there but
        the zygote) and count its OOM kills as seen.  Answered, so the zygote's next child is
        forked only after this (it will be born in the same cgroup)."""
        zygote = self.zygotes.get(n)
        left = [p for d in self.live.get(n, []) for p in procs(d) if p != zygote]
        for pid in set(left):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        got = read_stat(self.live.get(n) or self.dirs(n), self.version)
        self.oom_seen[n] = got["oom_kills"]
        return {"killed": len(set(left))}

    def remove(self, n: int, wait: float = 1.0) -> bool:
        dirs = self.live.pop(n, None) or []
        gone = all(remove(d, wait) for d in dirs)
        if not gone:
            self.live[n] = [d for d in dirs if os.path.isdir(d)]
        return gone

    def remove_all(self) -> None:
        for n in list(self.live):
            self.remove(n)


def read_stat(dirs: list[str], version: int) -> dict[str, Any]:
    oom, peak = 0, 0
    for d in dirs:
        try:
            if version == 2:
                for line in _read(os.path.join(d, "memory.events")).splitlines():
                    key, _, val = line.partition(" ")
                    if key == "oom_kill":
                        oom += int(val)
                if os.path.exists(os.path.join(d, "memory.peak")):
                    peak = max(peak, int(_read(os.path.join(d, "memory.peak"))))
            elif os.path.exists(os.path.join(d, "memory.oom_control")):
                for line in _read(os.path.join(d, "memory.oom_control")).splitlines():
                    key, _, val = line.partition(" ")
                    if key == "oom_kill":
                        oom += int(val)
                peak = int(_read(os.path.join(d, "memory.max_usage_in_bytes")))
        except (OSError, ValueError):
            continue
    return {"oom_kills": oom, "peak_mb": round(peak / (1 << 20), 1)}


def procs(d: str) -> list[int]:
    try:
        return [int(p) for p in _read(os.path.join(d, "cgroup.procs")).split()]
    except (OSError, ValueError):
        return []


def _rmdir(d: str) -> bool:
    try:
        os.rmdir(d)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def remove(d: str, wait: float = 1.0) -> bool:
    """Kill what is still in cgroup ``d`` (the launcher's own job cgroups only) and remove it."""
    deadline = time.monotonic() + wait
    while True:
        if _rmdir(d):
            return True
        if os.path.exists(os.path.join(d, "cgroup.kill")):
            try:
                _write(os.path.join(d, "cgroup.kill"), "1")
            except OSError:
                pass
        for pid in procs(d):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if time.monotonic() > deadline:
            return _rmdir(d)
        time.sleep(0.002)


def remove_stale(alive: Any, me: int | None = None) -> list[str]:
    """Remove job cgroups left by a harness killed with SIGKILL (or by a worker launcher killed
    before it could clean up): in this harness's own cgroup directories, named for this pid
    namespace, whose owner pid is dead (or is this harness and its launcher is dead).  A
    cgroup that still holds processes is left alone (never another's)."""
    me = os.getpid() if me is None else me
    version, dirs, _ = parents()
    if not version:
        return []
    ns = pidns_inode()
    removed = []
    for parent in dirs.values():
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            got = parse_name(name)
            if got is None or got[3] != ns:
                continue
            owner, launcher, _, _ = got
            stale = not alive(owner) or (owner == me and not alive(launcher))
            path = os.path.join(parent, name)
            if stale and not procs(path) and _rmdir(path):
                removed.append(path)
    return removed


# --- the launcher's service and its clients -------------------------------------------------
# The launcher keeps one SOCK_SEQPACKET socket per client: each zygote ("adopt": a cgroup for
# the sender, whose pid the kernel gives in SCM_CREDENTIALS, translated to the launcher's pid
# namespace, so a zygote can only ever place itself) and the worker ("stat" and "end" of a
# job's cgroup by number).
_CRED = struct.Struct("iII")


def serve(socks: list[socket.socket], mgr: JobCgroups) -> None:
    """Answer requests until every client socket reached EOF, then remove what is left."""
    sel = selectors.DefaultSelector()
    for one in socks:
        one.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sel.register(one, selectors.EVENT_READ, one)
    n = 0
    try:
        while sel.get_map():
            for key, _ in sel.select():
                s: socket.socket = key.data
                try:
                    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(_CRED.size))
                except OSError:
                    data, anc = b"", []
                if not data:
                    sel.unregister(s)
                    continue
                pid = _sender(anc)
                try:
                    msg = json.loads(data)
                    op = msg.get("op")
                    if op == "adopt":
                        n += 1
                        reply: dict[str, Any] | None = _adopt(mgr, n, pid)
                    elif op == "stat":
                        reply = mgr.stat(int(msg["n"]))
                    elif op == "end":
                        reply = mgr.end(int(msg["n"]))
                    else:
                        reply = {"error": f"unknown op {op!r}"}
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    reply = {"error": f"bad request: {exc}"}
                if reply is not None:
                    try:
                        s.send(json.dumps(reply).encode())
                    except OSError:
                        pass
    finally:
        mgr.remove_all()


def _sender(anc: list[tuple[int, int, bytes]]) -> int:
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return int(_CRED.unpack(data[: _CRED.size])[0])
    return 0


def _adopt(mgr: JobCgroups, n: int, pid: int) -> dict[str, Any]:
    """A zygote asks for its cgroup: made and the zygote moved in (the one migration; every job
    it forks is born there)."""
    if pid <= 1:
        return {"error": "no sender credentials"}
    t0 = time.monotonic()
    try:
        dirs = mgr.create(n)
        mgr.join(n, pid)
    except OSError as exc:
        mgr.remove(n)
        return {"error": f"cgroup for the zygote's jobs: {exc}"}
    mgr.zygotes[n] = pid
    return {"n": n, "dirs": dirs, "ms": round((time.monotonic() - t0) * 1000, 3)}


class Client:
    """One requester's end of a launcher socket (the zygote's or the worker's)."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.last_ms = 0.0
        self.last_times: dict[str, float] = {}

    def fileno(self) -> int:
        return self.sock.fileno()

    def ask(self, msg: dict[str, Any], pid: int | None = None) -> dict[str, Any]:
        t = time.monotonic()
        try:
            reply = self._ask(msg, pid)
            self.last_times = {k: v for k, v in reply.items() if k.endswith("_ms")}
            return reply
        finally:
            self.last_ms = round((time.monotonic() - t) * 1000, 3)

    def _ask(self, msg: dict[str, Any], pid: int | None) -> dict[str, Any]:
        data = json.dumps(msg).encode()
        try:
            if pid is None:
                self.sock.send(data)
            else:  # name a process (kernel-checked, translated to the launcher's pid ns)
                creds = _CRED.pack(pid, os.getuid(), os.getgid())
                self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
            got = self.sock.recv(65536)
        except OSError as exc:
            return {"error": f"cgroup launcher: {exc}"}
        if not got:
            return {"error": "cgroup launcher gone"}
        reply = json.loads(got)
        return reply if isinstance(reply, dict) else {"error": "bad reply"}


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def standby(owner: int, launcher: int) -> set[int]:
    """Pids (ours) of the job processes in one worker launcher's job cgroups: everything there
    whose parent is in the same cgroup (the zygote's parent, the worker, is not).  For an idle
    worker that is its one pre-forked child (its reaper and pid 1)."""
    version, dirs, _ = parents()
    if not version:
        return set()
    parent = dirs.get("pids") or dirs.get("unified") or ""
    ns, out = pidns_inode(), set()
    try:
        names = os.listdir(parent)
    except OSError:
        return set()
    for name in names:
        got = parse_name(name)
        if got and got[0] == owner and got[1] == launcher and got[3] == ns:
            members = set(procs(os.path.join(parent, name)))
            out |= {p for p in members if _ppid(p) in members}
    return out
