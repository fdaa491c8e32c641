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


class Where:
    """Where a write-open goes, seen from the reaper (same mount namespace and root as the job;
    ``proc_fd``: /proc of the reaper's pid namespace, where the notification's tid lives)."""

    AT_FDCWD = -100

    def __init__(self, proc_fd: int, writable: tuple[str, ...]) -> None:
        self.proc_fd = proc_fd
        self.writable = tuple(os.path.realpath(p) for p in writable)

    def targets(self, tid: int, name: str, args: tuple[int, ...]) -> list[str]:
        """The real paths a PATH_CHANGES syscall acts on (unreadable ones left out: the
        kernel answers those EFAULT)."""
        out = []
        for at_arg, path_arg, follow in _confine.PATH_CHANGES[name]:
            at = self.AT_FDCWD if at_arg == _confine.AT else args[at_arg]
            path = self._target(tid, at, args[path_arg], follow)
            if path is not None:
                out.append(path)
        return out

    def _target(self, tid: int, at: int, addr: int, follow: bool) -> str | None:
        if not addr:
            return None  # utimensat(fd, NULL, ...): the fd itself
        raw = _confine.read_string(tid, addr) or _confine.peek_string(tid, addr)
        if raw is None:
            return None
        path = os.fsdecode(raw)
        base = "/"
        if not path.startswith("/"):
            at = at - (1 << 64) if at >= 1 << 63 else at
            at = at - (1 << 32) if 1 << 31 <= at < 1 << 32 else at
            link = f"{tid}/cwd" if at == self.AT_FDCWD else f"{tid}/fd/{at}"
            try:
                base = os.readlink(link, dir_fd=self.proc_fd)  # canonical (the kernel's d_path)
            except OSError as exc:
                # deeper than PATH_MAX: only a tree the job built can be that deep, and the
                # read-only root has none, so it lies in a writable place
                return None if exc.errno == errno.ENAMETOOLONG else "?/" + path
        return resolve(base, path, follow)

    def writable_path(self, path: str) -> bool:
        return any(path == w or path.startswith(w.rstrip("/") + "/") for w in self.writable)


def resolve(base: str, path: str, follow_last: bool, max_links: int = 40) -> str:
    """``path`` (relative to the canonical directory ``base``, or absolute) with every symlink
    resolved -- the last one only when ``follow_last`` -- as the kernel would walk it.  Only the
    components of ``path`` are looked at (``base`` is already canonical), so a job working deep
    in its own tree costs one lstat per component of the path it names, not of the whole tree.
    Components that do not exist are kept as they are (mkdir, O_CREAT)."""
    todo = [p for p in path.split("/") if p not in ("", ".")]
    here = "/" if path.startswith("/") else base
    links = 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            here = os.path.dirname(here) or "/"
            continue
        nxt = os.path.join(here, part)
        if not todo and not follow_last:
            return nxt
        try:
            target = os.readlink(nxt)
        except OSError:  # not a link, or not there
            here = nxt
            continue
        links += 1
        if links > max_links:
            return nxt  # ELOOP for the kernel too
        todo[:0] = [p for p in target.split("/") if p not in ("", ".")]
        if target.startswith("/"):
            here = "/"
    return here


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
    while True:
        try:
            tid, status = os.waitpid(-1, 0x40000000)  # __WALL: every thread of the job
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if tid == pid and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
            return status
        if os.WIFSTOPPED(status):
            _resume(r, where, tid, status)


def _resume(r: _Reaper, where: Where, tid: int, status: int) -> None:
    event, sig = status >> 16, os.WSTOPSIG(status)
    deliver = 0
    if event == _confine.PTRACE_EVENT_SECCOMP:
        try:
            nr, args = _confine.syscall_regs(tid)
        except OSError:
            nr, args = -1, ()
        name = r.names.get(nr, "")
        if name in _confine.PATH_CHANGES:
            for path in where.targets(tid, name, args):
                if not where.writable_path(path):
                    r.add({"nr": nr, "syscall": name, "path": path, "startup": False})
                    break
    elif event == 0 and sig != signal.SIGTRAP:
        deliver = sig  # a signal for the job: pass it on
    try:
        _confine.ptrace(_confine.PTRACE_CONT, tid, 0, deliver)
    except OSError:
        pass
