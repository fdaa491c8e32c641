"""Per-job confinement layers applied in the forked child before untrusted code is loaded.

Standalone (stdlib + pyseccomp): the worker imports it from its own directory.  Each layer is a
function that either applies or returns why it could not; the worker records which layers applied
in a ``{"kind": "sandbox", "event": "layers", ...}`` event so nothing degrades silently.

Layers: privilege drop (root -> nobody), namespaces (user + net, and pid via a reaper fork),
rlimits, Landlock (raw syscalls, ABI >= 1; signal/abstract-socket scoping from ABI 6), seccomp
(a BPF program compiled once per worker with pyseccomp and loaded in each child by prctl).

Threads: ``clone`` with CLONE_THREAD stays allowed (numpy and some stdlib code start threads);
every other ``clone``/``fork``/``vfork``/``clone3`` is denied, so a job cannot create a process.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import resource
import struct
import sys
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "CLONE_NEWUSER",
    "CLONE_NEWNET",
    "CLONE_NEWPID",
    "unshare",
    "map_own_ids",
    "mount_tmpfs",
    "drop_privileges",
    "drop_capabilities",
    "set_rlimits",
    "landlock_abi",
    "landlock_restrict",
    "default_read_paths",
    "ALLOWED_SYSCALLS",
    "FILTERED_SYSCALLS",
    "allow_set",
    "deny_set",
    "compile_seccomp",
    "load_seccomp",
    "EVENT_SYSCALLS",
    "PID_PLACEHOLDER",
    "bind_pid",
    "shared_prefix_ok",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
_ST_LOCKED = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC  # statvfs f_flag bits kept on remount
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
SECCOMP_MODE_FILTER = 2
NOBODY = 65534

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]

_SYS_landlock_create_ruleset = 444
_SYS_landlock_add_rule = 445
_SYS_landlock_restrict_self = 446


def _err(what: str) -> str:
    e = ctypes.get_errno()
    return f"{what}: {os.strerror(e)} (errno {e})"


def unshare(flags: int) -> str | None:
    """unshare(2) through libc; None on success, else the reason."""
    if _libc.unshare(ctypes.c_int(flags)) != 0:
        return _err("unshare")
    return None


def map_own_ids(uid: int, gid: int) -> str | None:
    """In a fresh user namespace, map our former uid/gid to themselves (nothing else).

    Without a mapping no file can be created on a tmpfs mounted inside the namespace."""
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    except OSError as exc:
        return f"id maps: {exc}"
    return None


def mount_tmpfs(path: str, size_mb: int, inodes: int) -> str | None:
    """Mount a size- and inode-capped tmpfs at ``path`` (needs our own mount namespace):
    disk and inode floods hit ENOSPC there instead of filling the host's disk."""
    opts = f"size={int(size_mb)}m,nr_inodes={int(inodes)},mode=0755".encode()
    ms_nosuid, ms_nodev = 2, 4
    if _libc.mount(b"none", path.encode(), b"tmpfs", ms_nosuid | ms_nodev, opts) != 0:
        return _err("mount tmpfs")
    return None


WORKER_MOUNT = "/opt/stopbox/worker"
"""Where the worker files appear inside a private root (and inside gvisor/docker)."""
SCRATCH = "/.stopbox-scratch"
HOST_TMP = "/.stopbox-host-tmp"
"""Read-only view of the root filesystem's ``tmp/`` entries (an interpreter or venv that lives
under /tmp, as a checkout cloned there has): bound again under every job's private /tmp."""
"""The job's workdir: a fresh sized tmpfs per job, in its own mount namespace."""


class Layers:
    """Which confinement layers applied and which are missing (with the reason and the fix)."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.missing: list[str] = []
        self.reasons: dict[str, str] = {}
        self.info: dict[str, Any] = {}

    def check(self, name: str, err: str | None) -> bool:
        if err is None:
            if name not in self.applied:
                self.applied.append(name)
            return True
        if name not in self.missing:
            self.missing.append(name)
        self.reasons[name] = err
        return False

    def copy(self) -> Layers:
        new = Layers()
        new.applied, new.missing = list(self.applied), list(self.missing)
        new.reasons, new.info = dict(self.reasons), dict(self.info)
        return new

    def to_dict(self) -> dict[str, Any]:
        return {**self.info, "applied": list(self.applied), "missing": list(self.missing),
                "reasons": dict(self.reasons)}  # fmt: skip


def _b(path: str | None) -> bytes | None:
    return None if path is None else path.encode()


def mount(src: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> str | None:  # fmt: skip
    """mount(2); None on success, else the reason."""
    if _libc.mount(_b(src), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)) != 0:
        return _err(f"mount {fstype or 'bind'} {src} on {target}")
    return None


def bind(src: str, target: str, *, readonly: bool) -> str | None:
    """Recursive bind mount, then (for ``readonly``) remount it read-only, nosuid, nodev.

    A remount inside a user namespace must keep the flags the kernel locked on the source
    mount (read by statvfs), as bubblewrap does."""
    err = mount(src, target, None, MS_BIND | MS_REC)
    if err or not readonly:
        return err
    try:
        locked = os.statvfs(target).f_flag & _ST_LOCKED
    except OSError as exc:
        return f"statvfs {target}: {exc}"
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | locked
    return mount(None, target, None, flags)


def bind_host_tmp(host_tmp: str, tmp: str) -> str | None:
    """Bind each entry of ``host_tmp`` (the root filesystem's read-only ``tmp/``) read-only at the
    same name under ``tmp``: an interpreter or venv below /tmp stays importable under a private
    /tmp.  Nothing when ``host_tmp`` does not exist."""
    if not os.path.isdir(host_tmp):
        return None
    for entry in sorted(os.listdir(host_tmp)):
        src, dst = os.path.join(host_tmp, entry), os.path.join(tmp, entry)
        try:
            if os.path.isdir(src):
                os.makedirs(dst, exist_ok=True)
            else:
                open(dst, "a").close()
        except OSError as exc:
            return f"{dst}: {exc}"
        err = bind(src, dst, readonly=True)
        if err:
            return err
    return None


def mount_tmpfs_at(path: str, size_mb: int, inodes: int, *, noexec: bool = False,
                   mode: str = "1777") -> str | None:  # fmt: skip
    """A sized tmpfs (nosuid, nodev; noexec on request) at ``path``."""
    flags = MS_NOSUID | MS_NODEV | (MS_NOEXEC if noexec else 0)
    err = mount("tmpfs", path, "tmpfs", flags,
                f"size={int(size_mb)}m,nr_inodes={int(inodes)},mode={mode}")  # fmt: skip
    if err and "errno 22" in err:  # gVisor's tmpfs has no nr_inodes (its size still caps it)
        err = mount("tmpfs", path, "tmpfs", flags, f"size={int(size_mb)}m,mode={mode}")
    return err


def unmount(path: str) -> str | None:
    """Detach the mount at ``path`` (MNT_DETACH); None when done, else the reason."""
    if _libc.umount2(os.fsencode(path), MNT_DETACH) != 0:
        return _err(f"umount {path}")
    return None


def pivot_root(new_root: str) -> str | None:
    """Make ``new_root`` the root of this mount namespace and detach the old one (as bwrap)."""
    try:
        os.chdir(new_root)
    except OSError as exc:
        return f"chdir {new_root}: {exc}"
    if _libc.syscall(155, b".", b".") != 0:  # SYS_pivot_root, old root stacked on the new
        return _err("pivot_root")
    if _libc.umount2(b".", MNT_DETACH) != 0:
        return _err("umount old root")
    os.chdir("/")
    return None


def sethostname(name: str) -> str | None:
    raw = name.encode()
    if _libc.sethostname(raw, ctypes.c_size_t(len(raw))) != 0:
        return _err("sethostname")
    return None


def become(uid: int, gid: int) -> str | None:
    """setgroups([]) + setresgid + setresuid; None when done."""
    try:
        try:
            os.setgroups([])
        except OSError:
            pass  # denied in a user namespace with setgroups=deny: no groups are mapped anyway
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        return f"setresuid({uid}): {exc}"
    return None


def remove_tree(top: str) -> None:
    """Remove a directory tree without recursion and without following symlinks (a hostile
    tree of any depth cannot make this raise); what cannot be removed is left."""
    try:
        fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    stack: list[tuple[int, str | None]] = [(fd, None)]  # (dir fd, its name in the parent)
    while stack:
        fd, _ = stack[-1]
        sub = None
        try:
            with os.scandir(fd) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            sub = entry.name
                            break
                        os.unlink(entry.name, dir_fd=fd)
                    except OSError:
                        continue
        except OSError:
            pass
        if sub is not None and len(stack) < 512:
            try:
                child = os.open(sub, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                stack.append((child, sub))
                continue
            except OSError:
                pass
        if sub is not None:  # too deep for the fd stack: move the subtree up one level
            try:
                os.rename(sub, f".stopbox-up-{len(stack)}-{id(stack)}", src_dir_fd=fd,
                          dst_dir_fd=stack[0][0])  # fmt: skip
                continue
            except OSError:
                pass
        fd, name = stack.pop()
        os.close(fd)
        if name is not None and stack:
            try:
                os.rmdir(name, dir_fd=stack[-1][0])
            except OSError:
                pass
    try:
        os.rmdir(top)
    except OSError:
        pass


def set_pdeathsig(sig: int) -> None:
    _libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def shared_prefix_ok(paths: Iterable[str]) -> bool:
    """True when every directory above ``paths`` lets other users traverse it (o+x)."""
    for path in paths:
        parts = os.path.realpath(path).split(os.sep)
        for i in range(2, len(parts) + 1):
            d = os.sep.join(parts[:i]) or os.sep
            try:
                if os.path.isdir(d) and not os.stat(d).st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


def drop_privileges() -> str | None:
    """When running as root, become nobody (no capabilities, NPROC applies).  None when done."""
    if os.geteuid() != 0:
        return f"not root: kept uid {os.geteuid()}"
    try:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    except OSError as exc:
        return f"setresuid: {exc}"
    return None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]  # fmt: skip


def drop_capabilities() -> str | None:
    """Clear every capability (the job holds all of them inside its user namespace otherwise)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if _libc.syscall(126, ctypes.byref(header), ctypes.byref(data)) != 0:  # SYS_capset
        return _err("capset")
    return None


def set_rlimits(limits: dict[str, Any]) -> list[str]:
    """Apply the job's rlimits (soft = hard)."""
    failed = []
    cpu = int(limits["cpu_s"])
    mem = int(limits["memory_mb"]) * 1024 * 1024
    fsize = int(limits["file_size_mb"]) * 1024 * 1024
    table = [
        # the job is pid 1 of its pid namespace, where SIGXCPU is ignored: the hard limit's
        # SIGKILL ends it, so soft = hard (the worker reads the CPU time from wait4)
        (resource.RLIMIT_CPU, (cpu, cpu)),
        (resource.RLIMIT_AS, (mem, mem)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (int(limits["open_files"]),) * 2),
        (resource.RLIMIT_NPROC, (int(limits["processes"]),) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    for res, value in table:
        try:
            resource.setrlimit(res, value)
        except (OSError, ValueError) as exc:
            failed.append(f"{res}: {exc}")
    return failed


# --- Landlock -----------------------------------------------------------------------------------

_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_TRUNCATE = 1 << 14
_FS_IOCTL_DEV = 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_SCOPE_ABSTRACT_UNIX = 1 << 0
_SCOPE_SIGNAL = 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    v = _libc.syscall(_SYS_landlock_create_ruleset, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(v) if v > 0 else 0


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= 1 << 13  # REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def default_read_paths(worker_dir: str) -> list[str]:
    """Read-only paths a job needs: the interpreter prefixes, shared libraries, the worker dir."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, worker_dir}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    try:
        import numpy

        paths.add(os.path.dirname(os.path.dirname(os.path.realpath(numpy.__file__))))
    except ImportError:  # pragma: no cover
        pass
    for lib in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo"):
        paths.add(lib)
    return sorted(p for p in paths if p and os.path.exists(p))


def landlock_restrict(read: Iterable[str], write: Iterable[str], abi: int) -> str | None:
    """Allow only ``read`` (read/execute) and ``write`` (everything); None when applied."""
    if abi < 1:
        return "landlock unavailable"
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled_access_fs=handled, handled_access_net=0, scoped=0)
    size = 8
    if abi >= 4:
        attr.handled_access_net = 0b11  # BIND_TCP | CONNECT_TCP, nothing allowed
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
        size = 24
    fd = _libc.syscall(
        _SYS_landlock_create_ruleset, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if fd < 0:
        return _err("landlock_create_ruleset")
    try:
        ro = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
        for paths, rights in ((read, ro), (write, handled)):
            for path in paths:
                try:
                    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights & handled
                    if not os.path.isdir(path):
                        allowed &= _FILE_RIGHTS
                    rule = _PathBeneath(allowed_access=allowed, parent_fd=pfd)
                    if _libc.syscall(_SYS_landlock_add_rule, fd, 1, ctypes.byref(rule), 0) != 0:
                        return _err(f"landlock_add_rule {path}")
                finally:
                    os.close(pfd)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return _err("prctl(NO_NEW_PRIVS)")
        if _libc.syscall(_SYS_landlock_restrict_self, fd, 0) != 0:
            return _err("landlock_restrict_self")
    finally:
        os.close(fd)
    return None


# --- seccomp ------------------------------------------------------------------------------------
#
# An allow-list: every syscall not listed here fails (errno EPERM, or SIGSYS with action "kill").
# Compared with Docker's default profile and nsjail's examples, and cut down to what a Python
# numeric job needs once the worker has started it (no exec, no sockets, no new processes, no
# mounts, no namespaces, no tracing, no keyring, no BPF, no io_uring, no ownership or xattr
# changes, no inotify/fanotify).  Each entry says why it is there; docs/sandbox.md prints the list.

ALLOWED_SYSCALLS: dict[str, str] = {
    # file descriptors and files (paths are fenced by the private root, Landlock and tmpfs sizes)
    "read": "read files and the channel", "write": "write files and the channel",
    "readv": "vectored I/O (stdio)", "writev": "vectored I/O (stdio)",
    "pread64": "positional reads (zipimport, numpy.load)", "pwrite64": "positional writes",
    "preadv": "vectored positional I/O", "pwritev": "vectored positional I/O",
    "preadv2": "vectored positional I/O", "pwritev2": "vectored positional I/O",
    "open": "open files (legacy entry)", "openat": "open files", "close": "close fds",
    "close_range": "close fds in bulk", "creat": "create files (legacy entry)",
    "stat": "stat", "fstat": "stat", "lstat": "stat", "newfstatat": "stat", "statx": "stat",
    "lseek": "seek", "access": "os.access", "faccessat": "os.access", "faccessat2": "os.access",
    "getdents64": "os.listdir / scandir", "getdents": "os.listdir (legacy entry)",
    "getcwd": "os.getcwd", "chdir": "os.chdir", "fchdir": "os.chdir",
    "rename": "os.rename in the workdir", "renameat": "os.rename", "renameat2": "os.rename",
    "mkdir": "os.mkdir in the workdir", "mkdirat": "os.mkdir", "rmdir": "os.rmdir",
    "unlink": "os.remove", "unlinkat": "os.remove", "link": "os.link", "linkat": "os.link",
    "symlink": "os.symlink", "symlinkat": "os.symlink", "readlink": "os.readlink",
    "readlinkat": "os.readlink", "umask": "os.umask", "truncate": "file.truncate",
    "ftruncate": "file.truncate", "fsync": "os.fsync", "fdatasync": "os.fdatasync",
    "fadvise64": "posix_fadvise", "fallocate": "posix_fallocate (tmpfs is sized)",
    "flock": "fcntl.flock", "statfs": "os.statvfs", "fstatfs": "os.fstatvfs",
    "sendfile": "shutil.copyfile fast path", "copy_file_range": "shutil.copyfile fast path",
    "getxattr": "read xattrs (shutil.copy2)", "lgetxattr": "read xattrs",
    "fgetxattr": "read xattrs", "listxattr": "list xattrs", "llistxattr": "list xattrs",
    "flistxattr": "list xattrs",
    "chmod": "modes of the job's own files (host paths: read-only binds of other owners)",
    "fchmod": "modes of own files", "fchmodat": "modes of own files",
    "fchmodat2": "modes of own files", "utimensat": "times of own files (os.utime)",
    "utime": "times of own files", "utimes": "times of own files",
    "dup": "fd duplication", "dup2": "fd duplication", "dup3": "fd duplication",
    "pipe": "os.pipe", "pipe2": "os.pipe",
    "poll": "select/poll on own fds", "ppoll": "poll", "select": "select", "pselect6": "select",
    "epoll_create": "selectors", "epoll_create1": "selectors", "epoll_ctl": "selectors",
    "epoll_wait": "selectors", "epoll_pwait": "selectors", "epoll_pwait2": "selectors",
    "eventfd2": "asyncio / threading wake-ups", "timerfd_create": "timers",
    "timerfd_settime": "timers", "timerfd_gettime": "timers",
    # memory
    "brk": "malloc", "mmap": "malloc, numpy buffers, loading extension modules",
    "munmap": "free", "mremap": "realloc", "mprotect": "dlopen, thread stacks",
    "madvise": "malloc trimming", "msync": "mmap.flush", "mincore": "allocator probes",
    "membarrier": "runtime memory barriers",
    # threads and synchronisation (no new processes: clone is filtered below)
    "futex": "locks, the GIL", "futex_waitv": "locks", "set_robust_list": "thread start",
    "get_robust_list": "thread start", "set_tid_address": "thread start",
    "rseq": "glibc restartable sequences (thread start)", "sched_yield": "the GIL",
    "sched_getaffinity": "os.cpu_count / sched_getaffinity", "sched_getparam": "introspection",
    "sched_getscheduler": "introspection", "sched_get_priority_max": "introspection",
    "sched_get_priority_min": "introspection", "getcpu": "introspection",
    "exit": "thread exit", "exit_group": "process exit", "restart_syscall": "signal restarts",
    # signals (to itself only: kill/tgkill are filtered to the job's own pid)
    "rt_sigaction": "signal handlers", "rt_sigprocmask": "signal masks",
    "rt_sigreturn": "signal return", "rt_sigpending": "signal introspection",
    "rt_sigtimedwait": "signal.sigtimedwait", "rt_sigsuspend": "signal.pause",
    "sigaltstack": "faulthandler / stack overflow handling", "pause": "signal.pause",
    "alarm": "signal.alarm (own process)", "getitimer": "signal.getitimer",
    "setitimer": "signal.setitimer (own process)",
    # time
    "clock_gettime": "time", "clock_getres": "time", "gettimeofday": "time",
    "nanosleep": "time.sleep", "clock_nanosleep": "time.sleep", "time": "time",
    "times": "os.times",
    # identity and limits (read-only)
    "getpid": "os.getpid", "gettid": "threading", "getppid": "os.getppid", "getuid": "ids",
    "geteuid": "ids", "getgid": "ids", "getegid": "ids", "getresuid": "ids",
    "getresgid": "ids", "getgroups": "ids", "getpgrp": "ids", "getpgid": "ids",
    "getsid": "ids", "capget": "capability introspection", "uname": "platform",
    "sysinfo": "memory introspection", "getrlimit": "resource.getrlimit",
    "getrusage": "resource.getrusage", "getpriority": "os.getpriority",
    "getrandom": "os.urandom, random seeding", "arch_prctl": "thread-local storage",
}  # fmt: skip
"""Syscalls a job may make unconditionally (name -> why)."""

FILTERED_SYSCALLS: dict[str, str] = {
    "clone": "threads only: CLONE_THREAD set, no namespace flag (no new process or namespace)",
    "clone3": "answers ENOSYS so glibc falls back to the filtered clone",
    "fcntl": "F_DUPFD/GETFD/SETFD/GETFL/SETFL/locks only: no F_SETOWN(_EX), F_SETSIG, "
    "F_SETLEASE, F_NOTIFY (no signals to other processes)",
    "ioctl": "FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, TCGETS (isatty), TIOCGWINSZ "
    "(shutil.get_terminal_size, argparse) only",
    "prctl": "PR_GET/SET_NAME, PR_GET_DUMPABLE, PR_GET_PDEATHSIG, PR_GET_SECCOMP, "
    "PR_CAPBSET_READ, PR_GET_NO_NEW_PRIVS, PR_SET_VMA only",
    "prlimit64": "reading limits only (new limit NULL)",
    "kill": "to the job's own pid only",
    "tgkill": "to the job's own pid only",
    "rt_tgsigqueueinfo": "to the job's own pid only",
}
"""Syscalls a job may make with arguments checked by the filter (name -> the condition)."""

ESCAPE_SYSCALLS: tuple[str, ...] = (
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto",
    "sendmsg", "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv",
    "process_vm_writev", "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "mount", "umount2",
    "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsmount", "fsconfig", "move_mount",
    "open_tree", "mount_setattr", "open_by_handle_at", "name_to_handle_at", "bpf", "keyctl",
    "add_key", "request_key", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "init_module", "finit_module", "delete_module",
    "kexec_load", "kexec_file_load", "chown", "fchown", "lchown", "fchownat", "setxattr",
    "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "inotify_init",
    "inotify_init1", "inotify_add_watch", "fanotify_init", "fanotify_mark", "setuid",
    "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "capset",
)  # fmt: skip
"""Syscalls no numeric job makes and every escape needs: they kill the job (SIGSYS, seen by
the reaper outside the job) whatever the policy's action, so a job that silences its own audit
hook still cannot end ``ok`` after trying one."""

CLONE_NS_FLAGS = 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
CLONE_NS_FLAGS |= 0x00020000  # CLONE_NEWNS
_FCNTL_ALLOWED = (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 16, 36, 37, 38, 1025, 1030, 1032, 1034)
_IOCTL_ALLOWED = (0x541B, 0x5421, 0x5451, 0x5450, 0x5401, 0x5413)
_PRCTL_ALLOWED = (2, 3, 15, 16, 21, 23, 39, 0x53564D41)

EVENT_SYSCALLS: dict[str, str] = {
    "socket.__new__": "socket",
    "socket.connect": "connect",
    "socket.bind": "bind",
    "os.system": "fork",
    "subprocess.Popen": "fork",
    "os.fork": "fork",
    "os.forkpty": "fork",
    "os.posix_spawn": "fork",
    "os.spawn": "fork",
    "os.exec": "execve",
    "os.chown": "chown",
    "os.setxattr": "setxattr",
    "os.removexattr": "removexattr",
    "resource.setrlimit": "setrlimit",
    "resource.prlimit": "prlimit64",
}
"""Audit events whose syscall the filter denies: seen by the hook, recorded as a violation."""


def allow_set(extra_deny: Sequence[str], allow: Sequence[str]) -> set[str]:
    """Every syscall the job may make (built-in allow-list + policy allow - policy deny)."""
    return (set(ALLOWED_SYSCALLS) | set(FILTERED_SYSCALLS) | set(allow)) - set(extra_deny)


def deny_set(extra_deny: Sequence[str], allow: Sequence[str]) -> set[str]:
    """Syscall names the hook reports as denied (those of EVENT_SYSCALLS not allowed)."""
    allowed = set(ALLOWED_SYSCALLS) | set(allow)
    return ({*EVENT_SYSCALLS.values(), "kill"} - allowed) | set(extra_deny)


def compile_seccomp(
    extra_deny: Sequence[str],
    allow: Sequence[str],
    action: str,
    self_pid: int,
    escape_action: str = "kill",
    trace_writes: bool = False,
    notify_paths: bool = False,
) -> bytes:
    """Compile the job's allow-list filter to BPF (sock_filter array bytes) with pyseccomp.

    Default action: deny (EPERM, or kill the process with SIGSYS for action ``kill``; for
    ``notify`` the kernel asks the listener outside the job, which records the denial and
    answers EPERM: :func:`load_seccomp_listener`, ``_monitor``).  ``trace_writes``: opens for
    writing stop the job for its tracer (SECCOMP_RET_TRACE; gVisor has no user notification).
    ``allow``: extra syscalls allowed unconditionally; ``extra_deny``: entries taken out of
    the allow-list (also out of the filtered ones).
    """
    import pyseccomp as sc

    deny = {"errno": sc.ERRNO(errno.EPERM), "kill": sc.KILL_PROCESS, "kill_thread": sc.KILL,
            "notify": sc.NOTIFY}[action]  # fmt: skip
    f = sc.SyscallFilter(deny)
    watch_writes = action == "notify" or trace_writes or notify_paths
    removed = set(extra_deny) | (set(PATH_CHANGES) if watch_writes else set())
    kill = {"kill": sc.KILL_PROCESS, "kill_thread": sc.KILL}[escape_action]
    if action != escape_action:  # else the default action kills them already
        _add_rules(f, kill, [n for n in ESCAPE_SYSCALLS if n not in allow])
    _add_rules(f, sc.ALLOW, sorted((set(ALLOWED_SYSCALLS) | set(allow)) - removed))
    if watch_writes:  # None: the default action (notify) already shows them to the monitor
        watch = sc.TRACE(0) if trace_writes else sc.NOTIFY if action != "notify" else None
        _add_write_open_rules(f, sc, extra_deny, watch)
    _add_filtered_rules(f, sc, removed, allow, self_pid)
    if "clone" not in allow and action != escape_action:  # a new process is an escape attempt
        f.add_rule(kill, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    return _export_bpf(f)


def _add_rules(f: Any, action: Any, names: Iterable[str]) -> None:
    for name in names:
        try:
            f.add_rule(action, name)
        except (OSError, ValueError, RuntimeError):  # unknown on this arch/libseccomp
            continue


def _add_write_open_rules(f: Any, sc: Any, extra_deny: Sequence[str], watch: Any) -> None:
    """PATH_CHANGES reach the monitor: by the default action (``watch`` None: notify), or by
    ``watch`` (NOTIFY when the default kills, TRACE for a reaper tracing the job under gVisor).
    open/openat without write flags stay allowed (imports and reads never wait for it)."""
    for name in PATH_CHANGES:
        if name not in ALLOWED_SYSCALLS or name in extra_deny:
            continue
        arg = WRITE_OPEN_ARG.get(name)
        if arg is not None:
            f.add_rule(sc.ALLOW, name, sc.Arg(arg, sc.MASKED_EQ, _WMASK, 0))
        if watch is None:
            continue
        bits = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND)
        for bit in bits if arg is not None else ():
            f.add_rule(watch, name, sc.Arg(arg, sc.MASKED_EQ, bit, bit))
        if arg is None:
            _add_rules(f, watch, [name])


def _add_filtered_rules(f: Any, sc: Any, removed: set[str], allow: Sequence[str],
                        self_pid: int) -> None:  # fmt: skip
    """The argument-checked entries of FILTERED_SYSCALLS."""

    def when(name: str, *args: Any) -> None:
        if name not in removed and name not in allow:
            f.add_rule(sc.ALLOW, name, *args)

    when("clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD | CLONE_NS_FLAGS, CLONE_THREAD))
    if "clone3" not in removed and "clone3" not in allow:
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for cmd in _FCNTL_ALLOWED:
        when("fcntl", sc.Arg(1, sc.EQ, cmd))
    for req in _IOCTL_ALLOWED:
        when("ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, req))
    for opt in _PRCTL_ALLOWED:
        when("prctl", sc.Arg(0, sc.EQ, opt))
    when("prlimit64", sc.Arg(2, sc.EQ, 0))
    for name in ("kill", "tgkill", "rt_tgsigqueueinfo"):
        when(name, sc.Arg(0, sc.EQ, self_pid))


def _export_bpf(f: Any) -> bytes:
    fd = os.memfd_create("stopbox-bpf")  # a pipe would block on a filter over 64 KB
    with os.fdopen(fd, "w+b") as mem:
        f.export_bpf(mem)
        mem.seek(0)
        return mem.read()


WRITE_OPEN_ARG = {"open": 1, "openat": 2}
"""Opens whose flags (argument index) ask for writing reach the monitor: it records those
outside the job's writable paths, then lets the kernel go on (Landlock still decides)."""
AT = -1
"""In PATH_CHANGES: no dirfd argument (the path is relative to the cwd)."""
FD_ITSELF = -2
"""In PATH_CHANGES, as the path argument: no path, the change is made to the fd's file."""
PATH_CHANGES: dict[str, tuple[tuple[int, int, bool], ...]] = {
    "open": ((AT, 0, True),), "openat": ((0, 1, True),), "creat": ((AT, 0, True),),
    "mkdir": ((AT, 0, False),), "mkdirat": ((0, 1, False),), "rmdir": ((AT, 0, False),),
    "unlink": ((AT, 0, False),), "unlinkat": ((0, 1, False),),
    "rename": ((AT, 0, False), (AT, 1, False)),
    "renameat": ((0, 1, False), (2, 3, False)), "renameat2": ((0, 1, False), (2, 3, False)),
    "link": ((AT, 0, False), (AT, 1, False)), "linkat": ((0, 1, False), (2, 3, False)),
    "symlink": ((AT, 1, False),), "symlinkat": ((1, 2, False),),
    "truncate": ((AT, 0, True),), "chmod": ((AT, 0, True),), "fchmodat": ((0, 1, True),),
    "fchmodat2": ((0, 1, True),), "utime": ((AT, 0, True),), "utimes": ((AT, 0, True),),
    "utimensat": ((0, 1, True),), "fchmod": ((0, FD_ITSELF, True),),
}  # fmt: skip
"""Syscalls that change something at a path: (dirfd argument or AT, path argument or FD_ITSELF,
follow the last symlink).  The monitor sees each one (opens only with write flags), records
those whose path is outside the job's writable paths or cannot be resolved, and lets the kernel
go on: Landlock (or gVisor's read-only root and uid) still decides; the monitor only makes the
attempt visible outside (under ptrace also its result: a denied one is recorded)."""
_WMASK = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

PID_PLACEHOLDER = 0x7FFFFFF1
"""Stands for the job's pid in the kill/tgkill rules until :func:`bind_pid`."""


def bind_pid(bpf: bytes, pid: int) -> bytes:
    """The filter with the placeholder pid replaced by ``pid`` (compile once, bind per job)."""
    out = bytearray(bpf)
    for off in range(0, len(out) - 7, 8):
        code, jt, jf, k = struct.unpack_from("<HBBI", out, off)
        if k == PID_PLACEHOLDER:
            struct.pack_into("<HBBI", out, off, code, jt, jf, pid)
    return bytes(out)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load_seccomp(bpf: bytes) -> str | None:
    """Install a compiled filter on the calling thread (no_new_privs first).  None on success."""
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return _err("prctl(NO_NEW_PRIVS)")
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        return _err("prctl(SET_SECCOMP)")
    return None


# --- the denial monitor (seccomp user notification) ---------------------------------------------
#
# With action "errno" the filter's default action is SECCOMP_RET_USER_NOTIF: the kernel stops the
# job's thread at a denied syscall and asks the holder of the filter's listener fd.  The job
# loads the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER, hands the fd number to its reaper
# (outside the job's pid namespace), the reaper copies the fd out with pidfd_getfd and the job
# closes its own copy before any untrusted byte runs.  The reaper records each denial (trusted
# code, outside the job) and answers EPERM, as the errno action would.  A job that clears its
# audit hooks cannot hide a denial: the record is written before the syscall returns.

SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
_SYS_seccomp = 317
_SYS_pidfd_open = 434
_SYS_pidfd_getfd = 438
_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif): 80 bytes
_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp): 24 bytes
_NOTIF = struct.Struct("=QII iIQ 6Q")  # id, pid, flags, data{nr, arch, ip, args[6]}
_NOTIF_RESP = struct.Struct("=QqiI")  # id, val, error, flags


def load_seccomp_listener(bpf: bytes) -> tuple[int, str | None]:
    """Install a filter whose default action is USER_NOTIF; (listener fd, None) or (-1, why)."""
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return -1, _err("prctl(NO_NEW_PRIVS)")
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    fd = _libc.syscall(_SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                       ctypes.byref(prog))  # fmt: skip
    if fd < 0:
        return -1, _err("seccomp(SET_MODE_FILTER, NEW_LISTENER)")
    return int(fd), None


def set_dumpable(on: bool) -> None:
    """prctl(PR_SET_DUMPABLE): the reaper may copy the listener fd only while the job is
    dumpable (pidfd_getfd is a ptrace-mode access); it is set back to 0 right after."""
    _libc.prctl(PR_SET_DUMPABLE, int(on), 0, 0, 0)


def pidfd_open(pid: int) -> int:
    """A pidfd for ``pid`` (raises OSError)."""
    fd = _libc.syscall(_SYS_pidfd_open, ctypes.c_int(pid), ctypes.c_uint(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), _err("pidfd_open"))
    return int(fd)


def pidfd_getfd(pidfd: int, target_fd: int) -> int:
    """A copy of fd ``target_fd`` of the process behind ``pidfd`` (raises OSError)."""
    fd = _libc.syscall(_SYS_pidfd_getfd, ctypes.c_int(pidfd), ctypes.c_int(target_fd),
                       ctypes.c_uint(0))  # fmt: skip
    if fd < 0:
        raise OSError(ctypes.get_errno(), _err("pidfd_getfd"))
    return int(fd)


def notif_recv(listener: int) -> tuple[int, int, int, tuple[int, ...]] | None:
    """The next pending notification as (id, syscall nr, tid, args); None when it went away
    (the thread was killed meanwhile)."""
    buf = bytearray(_NOTIF.size)
    try:
        fcntl.ioctl(listener, _NOTIF_RECV, buf, True)
    except OSError:
        return None
    fields = _NOTIF.unpack(buf)
    return fields[0], fields[3], fields[1], tuple(fields[6:12])


def notif_deny(listener: int, notif_id: int, err: int = errno.EPERM) -> None:
    """Answer notification ``notif_id``: the syscall fails with ``err`` (as the errno action);
    ``err`` 0: the kernel carries the syscall out as asked (SECCOMP_USER_NOTIF_FLAG_CONTINUE,
    every other layer still applies)."""
    buf = bytearray(_NOTIF_RESP.pack(notif_id, 0, -err, 0 if err else 1))
    try:
        fcntl.ioctl(listener, _NOTIF_SEND, buf, True)
    except OSError:  # ENOENT: the thread is gone
        pass


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


PTRACE_PEEKDATA, PTRACE_CONT, PTRACE_GETREGS, PTRACE_SEIZE = 2, 7, 12, 0x4206
PTRACE_SYSCALL, PTRACE_O_TRACESYSGOOD = 24, 1
PTRACE_O_TRACECLONE, PTRACE_O_TRACESECCOMP, PTRACE_O_EXITKILL = 8, 0x80, 0x100000
PTRACE_EVENT_SECCOMP, PTRACE_EVENT_STOP = 7, 128
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def ptrace(request: int, tid: int, addr: int = 0, data: int = 0) -> int:
    """ptrace(2); raises OSError (PEEKDATA: the word, errno checked)."""
    ctypes.set_errno(0)
    ret = _libc.ptrace(request, tid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    if ret == -1 and ctypes.get_errno():
        raise OSError(ctypes.get_errno(), _err(f"ptrace({request})"))
    return int(ret)


def seize(pid: int) -> str | None:
    """Trace ``pid`` (and its threads): its write-opens (SECCOMP_RET_TRACE) stop it for us
    (and, resumed with PTRACE_SYSCALL, again at their exit: ``SIGTRAP | 0x80``)."""
    opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD
    try:
        ptrace(PTRACE_SEIZE, pid, 0, opts)
    except OSError as exc:
        return str(exc)
    return None


def syscall_regs(tid: int) -> tuple[int, tuple[int, ...]]:
    """(syscall nr, its six arguments) of a stopped tracee (x86_64 user_regs_struct)."""
    regs = (ctypes.c_ulonglong * 27)()
    ptrace(PTRACE_GETREGS, tid, 0, ctypes.addressof(regs))
    return int(regs[15]), (regs[14], regs[13], regs[12], regs[7], regs[9], regs[8])


def syscall_result(tid: int) -> int:
    """The return value of a tracee stopped at syscall exit (rax, signed)."""
    regs = (ctypes.c_ulonglong * 27)()
    ptrace(PTRACE_GETREGS, tid, 0, ctypes.addressof(regs))
    v = int(regs[10])
    return v - (1 << 64) if v >= 1 << 63 else v


def peek_string(tid: int, addr: int, limit: int = 4096) -> bytes | None:
    """A NUL-terminated string of a stopped tracee, word by word (PTRACE_PEEKDATA)."""
    out = b""
    while len(out) < limit:
        try:
            word = ptrace(PTRACE_PEEKDATA, tid, addr + len(out)) & (1 << 64) - 1
        except OSError:
            return None
        data = word.to_bytes(8, "little")
        if b"\0" in data:
            return out + data.split(b"\0", 1)[0]
        out += data
    return out


def read_string(pid: int, addr: int, limit: int = 4096) -> bytes | None:
    """A NUL-terminated string at ``addr`` in process ``pid`` (process_vm_readv, page by page so
    an unmapped next page does not fail the read); None when unreadable."""
    out = b""
    while len(out) < limit:
        chunk = min(4096 - (addr + len(out)) % 4096, limit - len(out))
        buf = ctypes.create_string_buffer(chunk)
        local = _IoVec(ctypes.cast(buf, ctypes.c_void_p), chunk)
        remote = _IoVec(ctypes.c_void_p(addr + len(out)), chunk)
        got = _libc.syscall(310, ctypes.c_int(pid), ctypes.byref(local), ctypes.c_ulong(1),
                            ctypes.byref(remote), ctypes.c_ulong(1), ctypes.c_ulong(0))  # fmt: skip
        if got <= 0:
            return None
        data = buf.raw[:got]
        if b"\0" in data:
            return out + data.split(b"\0", 1)[0]
        out += data
    return out


def syscall_names() -> dict[int, str]:
    """Syscall number -> name on this architecture (pyseccomp); empty when unavailable."""
    try:
        import pyseccomp as sc
    except ImportError:
        return {}
    names = {}
    for nr in range(0, 512):
        try:
            name = sc.resolve_syscall(0, nr)
        except Exception:  # noqa: S112 - unknown numbers have no name
            continue
        if isinstance(name, bytes) and name:
            names[nr] = name.decode()
    return names
