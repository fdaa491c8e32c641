"""The denial monitor: every syscall the filter denies is recorded outside the job.

Standalone (stdlib + the worker's siblings).  Two halves:

* in the job (before untrusted code): :func:`hand_over` gives the seccomp listener fd to the
  job's reaper and closes the job's own copy; :func:`arm` marks the start of untrusted code;
* in the reaper (outside the job's pid namespace, never running job code): :func:`serve_until_exit`
  answers each notification with EPERM (what the policy's errno action does) after writing a
  record of it to the worker's monitor pipe, and returns the job's wait status.

A record is written before the denied syscall returns, so by the time the job can send a result
the worker can read the denial.  Denials before :func:`arm` (interpreter and worker start-up)
are recorded as start-up events, not violations.  Records are capped per job
(:data:`MAX_RECORDS`); reaching the cap is itself recorded (a violation), later denials are
still answered but not recorded.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal

import _confine

READY_FD = 5
"""Job side: write end of the pipe to the reaper (listener fd number; closed = armed)."""
ACK_FD = 6
"""Job side: read end of the reaper's acknowledgement (the listener was taken)."""
MAX_RECORDS = 64


def ask_to_be_traced(ready_fd: int, ack_fd: int) -> str | None:
    """Job side (gVisor): the reaper traces us (while we still have its uid: no CAP_SYS_PTRACE
    needed) before the filter that hands write-opens to a tracer loads."""
    try:
        os.write(ready_fd, b"T\n")
        ack = os.read(ack_fd, 256)
    except OSError as exc:
        ack = f"E{exc}".encode()
    finally:
        os.close(ack_fd)
    if ack != b"A":
        return "the reaper could not trace the job: " + ack[1:].decode("utf-8", "replace")
    return None


def hand_over(listener: int) -> str | None:
    """Job side: give ``listener`` to the reaper, wait until it holds a copy, close ours.

    Only read/write/close run here, all allowed by the filter.  None when the reaper holds it."""
    try:
        os.write(READY_FD, f"L{listener}\n".encode())
        ack = os.read(ACK_FD, 256)
    except OSError as exc:
        ack = f"E{exc}".encode()
    finally:
        os.close(listener)
        os.close(ACK_FD)
    if ack != b"A":
        return "the reaper could not take the listener: " + ack[1:].decode("utf-8", "replace")
    return None


def arm() -> None:
    """Job side: untrusted code starts now; every later denial is a violation."""
    try:
        os.close(READY_FD)
    except OSError:
        pass


UNRESOLVED = "?/"
"""Prefix of a recorded path the monitor could not resolve (never taken for a writable one)."""
_O_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40
_CLIMB = 64
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
"""A path change that ends with one of these (seen at syscall exit, under ptrace) was denied."""


def _signed(v: int) -> int:
    v = v - (1 << 64) if v >= 1 << 63 else v
    return v - (1 << 32) if 1 << 31 <= v < 1 << 32 else v


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


class Where:
    """Where a path change goes, seen from the reaper (same mount namespace and root as the job;
    ``proc_fd``: /proc of the reaper's pid namespace, where the notification's tid lives).

    Paths are walked with file descriptors (``openat(O_PATH|O_NOFOLLOW)``, ``readlinkat``), never
    as absolute strings, so a cwd or path deeper than PATH_MAX is followed as the kernel follows
    it.  Whatever cannot be resolved (unreadable memory, no access, too deep, too many links, a
    path the job changed while it was read) comes back as ``?/...``: recorded, never "inside"."""

    AT_FDCWD = -100

    def __init__(self, proc_fd: int, writable: tuple[str, ...]) -> None:
        self.proc_fd = proc_fd
        self.writable = tuple(os.path.realpath(p) for p in writable)
        self.inside: dict[tuple[int, int], str] = {}  # deep directories known inside

    def targets(self, tid: int, name: str, args: tuple[int, ...]) -> list[str]:
        """The real paths a PATH_CHANGES syscall acts on (``?/...`` when unresolvable)."""
        out = []
        for at_arg, path_arg, follow in _confine.PATH_CHANGES[name]:
            at = self.AT_FDCWD if at_arg == _confine.AT else _signed(args[at_arg])
            if path_arg == _confine.FD_ITSELF:
                out.extend(self.fd_path(tid, at))
                continue
            addr = args[path_arg]
            raw = _read(tid, addr) if addr else b""
            if raw is None:  # the kernel may still read it (a page mapped meanwhile)
                out.append(UNRESOLVED + f"<unreadable path at {addr:#x}>")
                continue
            if not raw:  # NULL or "" (utimensat(fd, NULL), AT_EMPTY_PATH): the fd itself
                out.extend(self.fd_path(tid, at))
                continue
            out.append(self.resolve_at(tid, at, os.fsdecode(raw), follow))
            again = _read(tid, addr) if addr else b""
            if again != raw:  # changed while we resolved it (another thread): the kernel
                out.append(UNRESOLVED + os.fsdecode(again or b"<unreadable>"))  # may read this
        return out

    def fd_path(self, tid: int, fd: int) -> list[str]:
        """The file behind the job's ``fd`` ([] for pipes, sockets, anonymous inodes, memfds)."""
        link = f"{tid}/fd/{fd}"
        try:
            path = os.readlink(link, dir_fd=self.proc_fd)
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                return [UNRESOLVED + f"<fd {fd}: {exc.strerror}>"]
            try:  # a directory deeper than PATH_MAX: through its ancestors
                return [self.walk(os.open(link, os.O_PATH | os.O_CLOEXEC, dir_fd=self.proc_fd),
                                  "", False)]  # fmt: skip
            except OSError as exc2:
                return [UNRESOLVED + f"<fd {fd}: {exc2.strerror}>"]
        if not path.startswith("/") or path.startswith("/memfd:"):
            return []
        return [path.removesuffix(" (deleted)")]

    def resolve_at(self, tid: int, at: int, path: str, follow: bool) -> str:
        """``path`` relative to the job's ``at`` (its cwd for AT_FDCWD) or absolute, resolved as
        the kernel walks it -- the last symlink followed only when ``follow``."""
        try:
            if path.startswith("/"):
                base = os.open("/", _O_PATH)
            else:
                link = f"{tid}/cwd" if at == self.AT_FDCWD else f"{tid}/fd/{at}"
                base = os.open(link, os.O_PATH | os.O_CLOEXEC, dir_fd=self.proc_fd)
        except OSError as exc:
            return UNRESOLVED + f"{path} <{exc.strerror}>"
        try:
            return self.walk(base, path, follow)
        except OSError as exc:
            return UNRESOLVED + f"{path} <{exc.strerror}>"

    def walk(self, base: int, path: str, follow_last: bool) -> str:
        """Walk ``path`` from directory fd ``base`` (closed here); the canonical result."""
        here, todo, links, name = base, _parts(path), 0, ""
        try:
            while todo:
                part = todo.pop(0)
                if part == "..":
                    here = _step(here, "..")
                    continue
                if not todo and not follow_last:
                    name = part
                    break
                try:
                    target = os.readlink(part, dir_fd=here)
                except OSError as exc:
                    if exc.errno == errno.ENOENT:  # not there: created (last) or ENOENT
                        if ".." in todo:
                            return UNRESOLVED + path  # a later '..' depends on what appears
                        name = "/".join([part, *todo])
                        break
                    if exc.errno != errno.EINVAL:
                        raise
                    if not todo:  # the last component, not a link
                        name = part
                        break
                    here = _step(here, part)
                    continue
                links += 1
                if links > _MAX_LINKS:
                    return UNRESOLVED + path  # ELOOP for the kernel too
                todo[:0] = _parts(target)
                if target.startswith("/"):
                    os.close(here)
                    here = os.open("/", _O_PATH)
            top = self.dir_path(here)
        finally:
            os.close(here)
        return top if not name else top.rstrip("/") + "/" + name

    def dir_path(self, fd: int) -> str:
        """The canonical path of directory ``fd``.  Deeper than PATH_MAX (the kernel cannot
        name it): the path of the nearest ancestor that can be named (or that was seen inside
        before) followed by ``/...``; ``?/...`` when none within :data:`_CLIMB` levels."""
        try:
            path = os.readlink(f"self/fd/{fd}", dir_fd=self.proc_fd)
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                raise
        else:
            return path.removesuffix(" (deleted)")
        key = _key(fd)
        if key in self.inside:
            return self.inside[key]
        up = os.dup(fd)
        try:
            for _ in range(_CLIMB):
                up = _step(up, "..")
                known = self.inside.get(_key(up))
                if known is None:
                    try:
                        known = os.readlink(f"self/fd/{up}", dir_fd=self.proc_fd) + "/..."
                    except OSError as exc:
                        if exc.errno != errno.ENAMETOOLONG:
                            raise
                        continue
                if self.writable_path(known):
                    if len(self.inside) > 100_000:
                        self.inside.clear()
                    self.inside[key] = known
                return known
        finally:
            os.close(up)
        return UNRESOLVED + "<deeper than PATH_MAX>"

    def writable_path(self, path: str) -> bool:
        return any(path == w or path.startswith(w.rstrip("/") + "/") for w in self.writable)


def _key(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _step(here: int, part: str) -> int:
    """openat(here, part, O_PATH|O_NOFOLLOW); ``here`` is closed once that worked."""
    nxt = os.open(part, _O_PATH, dir_fd=here)
    os.close(here)
    return nxt


def _read(tid: int, addr: int) -> bytes | None:
    raw: bytes | None = _confine.read_string(tid, addr)
    if raw is None:  # under ptrace (gVisor): word by word
        raw = _confine.peek_string(tid, addr)
    return raw


class _Reaper:
    """Reaper side: the listener, the records and the job's exit."""

    def __init__(self, pid: int, out_fd: int, ready_fd: int, ack_fd: int,
                 names: dict[int, str]) -> None:  # fmt: skip
        self.pid, self.out_fd, self.ready_fd, self.ack_fd = pid, out_fd, ready_fd, ack_fd
        self.names = names
        self.listener = -1
        self.armed = False
        self.count = 0
        self.buf = b""
        os.set_blocking(out_fd, False)  # never block on the worker: records are capped anyway

    def record(self, rec: dict[str, object]) -> None:
        try:
            os.write(self.out_fd, (json.dumps(rec) + "\n").encode())
        except OSError:
            pass

    def take_listener(self, pidfd: int, line: bytes) -> None:
        try:
            self.listener = _confine.pidfd_getfd(pidfd, int(line[1:]))
            os.write(self.ack_fd, b"A")
        except (OSError, ValueError) as exc:
            self.record({"monitor_error": str(exc)[:300]})
            os.write(self.ack_fd, f"E{exc}".encode()[:200])
        os.close(self.ack_fd)
        self.ack_fd = -1

    def on_ready(self, pidfd: int, poller: select.poll) -> None:
        data = os.read(self.ready_fd, 256)
        if not data:  # the job closed it: untrusted code runs from now on
            self.armed = True
            poller.unregister(self.ready_fd)
            os.close(self.ready_fd)
            return
        self.buf += data
        if b"\n" in self.buf and self.listener < 0:
            line, _, self.buf = self.buf.partition(b"\n")
            self.take_listener(pidfd, line)
            if self.listener >= 0:
                poller.register(self.listener, select.POLLIN)

    def on_notification(self, where: Where) -> None:
        got = _confine.notif_recv(self.listener)
        if got is None:
            return
        notif_id, nr, tid, args = got
        name = self.names.get(nr, f"syscall {nr}")
        if name in _confine.PATH_CHANGES:  # allowed by the filter, shown to us for the path
            for path in where.targets(tid, name, args):
                if not where.writable_path(path):
                    self.add({"nr": nr, "syscall": name, "path": path, "startup": not self.armed})
                    break
            _confine.notif_deny(self.listener, notif_id, 0)  # go on: Landlock decides
            return
        self.add({"nr": nr, "syscall": name, "startup": not self.armed})
        _confine.notif_deny(self.listener, notif_id, errno.EPERM)

    def add(self, rec: dict[str, object]) -> None:
        self.count += 1
        if self.count <= MAX_RECORDS:
            self.record(rec)
        elif self.count == MAX_RECORDS + 1:  # said at once: the job may be killed any time
            self.record({"capped": MAX_RECORDS, "startup": not self.armed})


def serve_until_exit(pid: int, fds: tuple[int, int, int], names: dict[int, str],
                     where: Where) -> int:  # fmt: skip
    """Reaper side: serve the job's denials until it ends; its wait status.  ``fds``: the
    monitor pipe to the worker, the job's hand-over pipe, the acknowledgement pipe."""
    out_fd, ready_fd, ack_fd = fds
    r = _Reaper(pid, out_fd, ready_fd, ack_fd, names)
    try:
        pidfd = _confine.pidfd_open(pid)
    except OSError as exc:  # the job's hand-over then fails: the job is refused
        r.record({"monitor_error": str(exc)[:300]})
        try:
            os.write(ack_fd, f"E{exc}".encode()[:200])
        except OSError:
            pass
        os.close(ack_fd)
        return wait(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(ready_fd, select.POLLIN)
    while True:
        for fd, ev in poller.poll():
            if fd == pidfd:
                return wait(pid)
            if fd == ready_fd:
                r.on_ready(pidfd, poller)
            elif ev & select.POLLIN:
                r.on_notification(where)
            else:  # POLLHUP: no task uses the filter any more
                poller.unregister(fd)


def wait(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def trace_until_exit(pid: int, fds: tuple[int, int, int], names: dict[int, str],
                     where: Where) -> int:  # fmt: skip
    """Reaper side, without user notification (gVisor): trace the job; every write-open the
    filter hands to the tracer (SECCOMP_RET_TRACE) is checked as by the monitor, then goes on.
    Returns the job's wait status.  Other denials kill the job (the filter's default)."""
    out_fd, ready_fd, ack_fd = fds
    r = _Reaper(pid, out_fd, ready_fd, ack_fd, names)
    r.armed = True  # the only trusted write-open is the job's own source file, in its workdir
    line = os.read(ready_fd, 256)
    err = _confine.seize(pid) if line == b"T\n" else "no request"
    # then the job's uid (nobody), so that /proc/<tid>/cwd and fd links of the (dumpable) job
    # can be read without CAP_SYS_PTRACE; the trace itself stays
    err = err or _confine.become(_confine.NOBODY, _confine.NOBODY)
    try:
        os.write(ack_fd, b"A" if err is None else f"E{err}".encode()[:200])
    except OSError:
        pass
    os.close(ack_fd)
    pending: dict[int, tuple[int, str, str, bool]] = {}
    sigsys = False
    while True:
        try:
            tid, status = os.waitpid(-1, 0x40000000)  # __WALL: every thread of the job
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if tid == pid and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
            return signal.SIGSYS if sigsys else status
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS and not sigsys:
            # runsc kills only the thread that made a denied syscall: the job goes with it
            sigsys = True
            r.add({"nr": -1, "syscall": "denied syscall (a thread killed by SIGSYS)",
                   "startup": False})  # fmt: skip
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if os.WIFSTOPPED(status):
            _resume(r, where, tid, status, pending)


def _resume(r: _Reaper, where: Where, tid: int, status: int,
            pending: dict[int, tuple[int, str, str, bool]]) -> None:  # fmt: skip
    """One stop of a traced thread.  A path change is checked at its seccomp stop and followed
    to its exit (PTRACE_SYSCALL): one the kernel denied is recorded even when its path looked
    inside at the check (the job swapped it meanwhile, or it could not be resolved)."""
    event, sig = status >> 16, os.WSTOPSIG(status)
    deliver, how = 0, _confine.PTRACE_CONT
    if event == _confine.PTRACE_EVENT_SECCOMP:
        try:
            nr, args = _confine.syscall_regs(tid)
        except OSError:
            nr, args = -1, ()
        name = r.names.get(nr, "")
        if name in _confine.PATH_CHANGES:
            seen = ""
            for path in where.targets(tid, name, args):
                seen = seen or path
                if not where.writable_path(path):
                    r.add({"nr": nr, "syscall": name, "path": path, "startup": False})
                    seen = ""  # recorded already
                    break
            pending[tid] = (nr, name, seen, False)
            how = _confine.PTRACE_SYSCALL
    elif event == 0 and sig == signal.SIGTRAP | 0x80:
        nr, name, seen, entered = pending.pop(tid, (-1, "", "", True))
        try:
            res = _confine.syscall_result(tid) if name else 0
        except OSError:
            res = 0
        if res == -errno.ENOSYS and not entered:  # runsc stops at syscall entry after the
            pending[tid] = (nr, name, seen, True)  # seccomp stop (Linux does not): exit next
            how = _confine.PTRACE_SYSCALL
        elif -res in _DENIED and seen:
            r.add({"nr": nr, "syscall": name, "path": UNRESOLVED + seen, "startup": False,
                   "denied": errno.errorcode.get(-res, str(-res))})  # fmt: skip
    elif event == 0 and sig != signal.SIGTRAP:
        deliver = sig  # a signal for the job: pass it on
        if tid in pending:
            how = _confine.PTRACE_SYSCALL
    try:
        _confine.ptrace(how, tid, 0, deliver)
    except OSError:
        pending.pop(tid, None)
