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
    "DENIED_SYSCALLS",
    "deny_set",
    "compile_seccomp",
    "load_seccomp",
    "EVENT_SYSCALLS",
    "PID_PLACEHOLDER",
    "bind_pid",
    "shared_prefix_ok",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_PDEATHSIG = 1
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
    """Apply the job's rlimits (soft = hard, except CPU which leaves 1 s for SIGXCPU)."""
    failed = []
    cpu = int(limits["cpu_s"])
    mem = int(limits["memory_mb"]) * 1024 * 1024
    fsize = int(limits["file_size_mb"]) * 1024 * 1024
    table = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
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

DENIED_SYSCALLS: tuple[str, ...] = (
    # network
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # process creation and program execution (clone: see the rule below)
    "execve", "execveat", "fork", "vfork",
    # other processes' memory and tracing
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open", "pidfd_getfd",
    "pidfd_send_signal", "process_madvise",
    # namespaces, mounts, privileges
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "fsopen", "fsmount",
    "fsconfig", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
    "name_to_handle_at",
    # kernel attack surface
    "bpf", "keyctl", "add_key", "request_key", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "personality", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "syslog", "iopl", "ioperm", "fanotify_init",
    "sethostname", "setdomainname", "settimeofday", "clock_settime", "adjtimex",
    "move_pages", "migrate_pages", "vhangup",
    # limits may not be raised (prlimit64 with a new limit: see below)
    "setrlimit",
    # signals to anything but the job itself (kill/tgkill: see below)
    "tkill", "rt_sigqueueinfo",
)  # fmt: skip

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
    "os.kill": "kill",
    "os.killpg": "kill",
    "resource.setrlimit": "prlimit64",
    "resource.prlimit": "prlimit64",
}
"""Audit events whose syscall the filter denies: seen by the hook, recorded as a violation."""

_CONDITIONAL = ("clone", "clone3", "prlimit64", "kill", "tgkill", "rt_tgsigqueueinfo", "prctl")


def deny_set(extra_deny: Sequence[str], allow: Sequence[str]) -> set[str]:
    """Every syscall name the job's filter denies (built-in list + policy deny - policy allow)."""
    return (set(DENIED_SYSCALLS) | set(_CONDITIONAL) | set(extra_deny)) - set(allow)


def compile_seccomp(
    extra_deny: Sequence[str], allow: Sequence[str], action: str, self_pid: int
) -> bytes:
    """Compile the job's filter to BPF (sock_filter array bytes) with pyseccomp."""
    import pyseccomp as sc

    deny = {"errno": sc.ERRNO(errno.EPERM), "kill": sc.KILL_PROCESS, "kill_thread": sc.KILL}[action]
    f = sc.SyscallFilter(sc.ALLOW)
    allowed = set(allow)
    for name in sorted((set(DENIED_SYSCALLS) | set(extra_deny)) - allowed):
        try:
            f.add_rule(deny, name)
        except (OSError, ValueError, RuntimeError):  # unknown on this arch/libseccomp
            continue
    if "clone" not in allowed:  # processes: no; threads: yes
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    if "clone3" not in allowed:  # glibc falls back to clone for threads on ENOSYS
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    if "prlimit64" not in allowed:
        f.add_rule(deny, "prlimit64", sc.Arg(2, sc.NE, 0))
    if "prctl" not in allowed:  # keep the parent-death signal
        f.add_rule(deny, "prctl", sc.Arg(0, sc.EQ, PR_SET_PDEATHSIG))
    for name in ("kill", "tgkill", "rt_tgsigqueueinfo"):
        if name not in allowed:
            f.add_rule(deny, name, sc.Arg(0, sc.NE, self_pid))
    r, w = os.pipe()
    try:
        with os.fdopen(w, "wb", closefd=True) as wf:
            f.export_bpf(wf)
        chunks = []
        while chunk := os.read(r, 65536):
            chunks.append(chunk)
    finally:
        os.close(r)
    return b"".join(chunks)


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
