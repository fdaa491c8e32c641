"""Run the shipped attack programs against a started sandbox and judge them *from outside*.

Used by ``stopbox selfcheck`` and ``tests/containment`` (one source of truth).  The arena plants
canaries the attacks go after and afterwards checks, without trusting anything the job says:

* the canary token (in a secret file outside the workdir, in this process's environment and in
  a decoy process's environment) appears nowhere in the result (value, output, events, error);
* no marker file exists (temp dir, home, project, stdlib, worker dir) and the secret is intact;
* a TCP listener on 127.0.0.1 and a unix-socket listener saw no connection;
* the harness got no signal, the decoy is alive, untouched and not traced;
* no process the job made is left, the call ended within its timeout, output stayed capped;
* the sandbox still answers a fresh job correctly.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stopbox.harness._resources import data_dir
from stopbox.harness.sandbox._base import ExecResult, Sandbox, Status
from stopbox.harness.sandbox.selfcheck._host import HostView

__all__ = ["ATTACKS", "Attack", "Verdict", "Arena", "attack_source"]

PROJECT_ROOT = data_dir("harness").parent


@dataclass(frozen=True, slots=True)
class Attack:
    id: str
    category: str
    title: str
    timeout: float | None = None
    """The call's timeout when not the arena's: memory attacks end `memory` (RLIMIT_AS, the job
    cgroup) after touching hundreds of MB, which a loaded machine may take longer than 1.5 s to
    do; the status they must end with stays `memory`."""


ATTACKS: tuple[Attack, ...] = (
    Attack("read_secret_file", "secrets", "read a file outside the workdir (direct, symlink)"),
    Attack("read_environment", "secrets", "read the harness's environment and /proc/*/environ"),
    Attack("scan_proc", "secrets", "walk /proc for other processes' secrets"),
    Attack("write_outside", "write", "write to tmp, home, project, stdlib, worker dir"),
    Attack("write_symlink", "write", "write outside through symlinks"),
    Attack("write_hardlink", "write", "hard-link the secret into the workdir and modify it"),
    Attack("delete_outside", "write", "truncate, delete, rename a file outside"),
    Attack("net_tcp", "network", "TCP connect to a 127.0.0.1 listener"),
    Attack("net_urllib", "network", "HTTP request with urllib"),
    Attack("net_ctypes_syscall", "network", "raw socket/connect syscalls via ctypes"),
    Attack("net_unix", "network", "unix sockets, including docker.sock"),
    Attack("proc_subprocess", "process", "subprocess, os.system, posix_spawn"),
    Attack("proc_ctypes_execve", "process", "execve via ctypes"),
    Attack("proc_fork_bomb", "process", "fork bomb"),
    Attack("proc_thread_bomb", "process", "thread bomb"),
    Attack("res_memory", "resources", "exhaust memory (Python objects)", timeout=30.0),
    Attack("res_memory_numpy", "resources", "exhaust memory (numpy)", timeout=30.0),
    Attack("res_disk_fill", "resources", "fill the disk"),
    Attack("res_inode_fill", "resources", "exhaust inodes"),
    Attack("res_busy_loop", "resources", "busy loop"),
    Attack("res_sleep", "resources", "sleep past the timeout"),
    Attack("res_ignore_signals", "resources", "ignore signals and spin"),
    Attack("res_output_flood", "resources", "flood stdout and stderr"),
    Attack("res_deep_recursion", "resources", "overflow the C stack"),
    Attack("kill_others", "interfere", "signal the harness, the worker, a decoy, groups"),
    Attack("ptrace_others", "interfere", "ptrace and process_vm_readv other processes"),
    Attack("raise_rlimits", "interfere", "raise rlimits, then exceed them"),
    Attack("daemonize", "interfere", "double-fork a daemon that outlives the job"),
    Attack("unshare_mount", "interfere", "unshare namespaces, bind-mount, chroot"),
    Attack("forge_frames", "protocol", "forge result frames on stdout/stderr and other fds"),
    Attack("forge_channel", "protocol", "forge frames on the job's own channel"),
    Attack("close_fds", "protocol", "close every fd and keep running"),
    Attack("tamper_harness", "tampering", "import/patch the harness and the worker"),
    Attack("meta_change_host_files", "host", "chmod setuid/chown/utime/xattrs on host files"),
    Attack("ipc_host_sysv", "host", "read/overwrite a host SysV segment, leave IPC objects"),
    Attack("proc_fds_forge", "host", "write forged frames into other processes' /proc fds"),
    Attack("monitor_clear_hooks", "monitor", "clear the audit hooks via ctypes, then escape"),
    Attack("monitor_blind_socket", "monitor", "clear the audit hooks, then a raw socket()"),
    Attack("monitor_blind_fork", "monitor", "clear the audit hooks, then a raw fork()"),
    Attack("monitor_blind_ptrace", "monitor", "clear the audit hooks, then a raw ptrace()"),
    Attack(
        "monitor_blind_errno_syscalls",
        "monitor",
        "clear the audit hooks, then syscalls outside the allow-list that only fail",
    ),
    Attack(
        "monitor_blind_open_write",
        "monitor",
        "clear the audit hooks, then write, mkdir, unlink, rename, chmod outside",
    ),
    Attack("frames_malformed", "protocol", "deep nesting, NaN and 1e400 frames on the channel"),
    Attack("frames_bad_values", "protocol", "a result value the codec must reject"),
    Attack("rpc_flood", "protocol", "20,000 RPC requests whose answers are never read"),
    Attack("signal_fasync", "interfere", "signal the worker via F_SETOWN/F_SETSIG and pidfd"),
    Attack("cleanup_hostile_tree", "interfere", "a 3,000-level tree for the worker to clean"),
)
MUST_VIOLATE = frozenset({"monitor_clear_hooks", "frames_malformed", "frames_bad_values",
                          "rpc_flood", "monitor_blind_socket", "monitor_blind_fork",
                          "monitor_blind_ptrace", "monitor_blind_errno_syscalls",
                          "monitor_blind_open_write"})  # fmt: skip
"""Attacks that do something denied or malformed: ending ``ok`` with no violation is an escape."""
KEEP_WORKER = frozenset({"frames_malformed", "frames_bad_values", "signal_fasync",
                         "cleanup_hostile_tree", "forge_channel", "forge_frames"})  # fmt: skip
"""Attacks on the worker itself: the same workers must still run afterwards."""


INCLUDE = "# stopbox-attack-include: "
"""A line that stands for a shared part of several attacks (``attacks/<name>.py``): a job's
program is one text, so the part is spliced in here rather than imported by the job."""


def attack_source(attack_id: str) -> str:
    """The program text of a shipped attack, its shared parts spliced in."""
    package = importlib.resources.files("stopbox.harness.sandbox.selfcheck.attacks")
    text = package.joinpath(f"{attack_id}.py").read_text(encoding="utf-8")
    return "".join(
        package.joinpath(line[len(INCLUDE) :].strip() + ".py").read_text(encoding="utf-8")
        if line.startswith(INCLUDE)
        else line
        for line in text.splitlines(keepends=True)
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    attack: Attack
    contained: bool
    escapes: tuple[str, ...]
    result: ExecResult | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.attack.id,
            "category": self.attack.category,
            "title": self.attack.title,
            "contained": self.contained,
            "escapes": list(self.escapes),
            "status": self.result.status.value if self.result else None,
            "violations": [dict(v) for v in self.result.violations] if self.result else [],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Listeners:
    tcp_hits: list[str] = field(default_factory=list)
    unix_hits: list[str] = field(default_factory=list)
    signals: list[int] = field(default_factory=list)


def _children_map() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return out


def _descendants(root: int) -> set[int]:
    parents = _children_map()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _nspid(pid: int) -> list[str]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return line.split()[1:]
    except OSError:
        pass
    return []


def _preforked(workers: set[int]) -> set[int]:
    """The next job's child a worker keeps forked while idle (pre-fork), and its waiter: at most
    one childless pid-1-of-its-own-namespace process per worker.  A job's own processes die with
    its pid namespace, so a second such process, or one with children, is a leftover."""
    parents = _children_map()
    out: set[int] = set()
    for w in workers:
        tree = _descendants(w)
        roots = [p for p in tree if _nspid(p)[-1:] == ["1"] and len(_nspid(p)) >= 3
                 and not any(pp == p for pp in parents.values())]  # fmt: skip
        if len(roots) == 1:
            out |= {roots[0], parents.get(roots[0], 0)}
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


class Arena:
    """Canaries, listeners and a decoy around one sandbox; :meth:`run` judges one attack."""

    def __init__(self, sandbox: Sandbox, *, timeout: float = 1.5) -> None:
        self.sandbox = sandbox
        self.timeout = timeout
        self.token = "STOPBOX-CANARY-" + secrets.token_hex(12)
        self.env_name = "STOPBOX_SELFCHECK_SECRET"
        self.dir = Path(tempfile.mkdtemp(prefix="stopbox-selfcheck-"))
        self.secret_file = self.dir / "secret.txt"
        self.hits = _Listeners()
        self._stack = contextlib.ExitStack()
        worker_dir = getattr(sandbox, "_dir", None)
        self.host = HostView(self.dir, Path(worker_dir) if worker_dir else None, self.token)

    # --- set-up -----------------------------------------------------------------------------
    def __enter__(self) -> Arena:
        self.secret_file.write_text(self.token)
        self._stack.callback(shutil.rmtree, self.dir, True)
        self._stack.enter_context(self.host)
        old_env = os.environ.get(self.env_name)
        os.environ[self.env_name] = self.token
        self._stack.callback(self._restore_env, old_env)
        self.port = self._tcp_listener()
        self.unix_socket = str(self.dir / "stopbox.harness.sock")
        self._unix_listener(self.unix_socket)
        self.decoy = subprocess.Popen(
            [sys.executable, "-c", _DECOY, str(self.dir / "decoy-signalled")],
            env={"PATH": "/usr/bin:/bin", self.env_name: self.token},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._stack.callback(self._stop_decoy)
        if threading.current_thread() is threading.main_thread():
            old = signal.signal(signal.SIGUSR2, lambda s, f: self.hits.signals.append(s))
            self._stack.callback(signal.signal, signal.SIGUSR2, old)
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _restore_env(self, old: str | None) -> None:
        if old is None:
            os.environ.pop(self.env_name, None)
        else:
            os.environ[self.env_name] = old

    def _stop_decoy(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.decoy.pid, signal.SIGKILL)
        self.decoy.wait()

    def _serve(self, sock: socket.socket, hits: list[str]) -> None:
        def loop() -> None:
            while True:
                try:
                    conn, addr = sock.accept()
                except OSError:
                    return
                hits.append(repr(addr))
                conn.close()

        threading.Thread(target=loop, daemon=True).start()
        self._stack.callback(sock.close)

    def _tcp_listener(self) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self._serve(sock, self.hits.tcp_hits)
        return int(sock.getsockname()[1])

    def _unix_listener(self, path: str) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(16)
        self._serve(sock, self.hits.unix_hits)

    def markers(self, attack_id: str) -> dict[str, str]:
        tag = f"stopbox-escaped-{attack_id}-{self.token[-8:]}"
        found = {
            "tmp": str(self.dir / tag),
            "home": str(Path.home() / f".{tag}"),
            "project": str(PROJECT_ROOT / f".{tag}"),
            "stdlib": str(Path(os.__file__).parent / f"{tag.replace('-', '_')}.py"),
        }
        worker_dir = getattr(self.sandbox, "_dir", None)
        if worker_dir is not None:
            found["worker"] = str(Path(worker_dir) / tag)
        return found

    def context(self, attack_id: str) -> dict[str, Any]:
        return {
            "secret_file": str(self.secret_file),
            "secret_dir": str(self.dir),
            "env_name": self.env_name,
            "harness_pid": os.getpid(),
            "decoy_pid": self.decoy.pid,
            "markers": self.markers(attack_id),
            "port": self.port,
            "unix_socket": self.unix_socket,
            "memory_mb": self.sandbox.policy.sandbox.memory_mb,
            "harness_files": [str(PROJECT_ROOT / "harness" / "policy.py")],
            **self.host.context(),
        }

    # --- judging ------------------------------------------------------------------------------
    def run(self, attack: Attack) -> Verdict:
        ctx = self.context(attack.id)
        self.host.snapshot()
        before = _descendants(os.getpid())
        workers_before = set(getattr(self.sandbox, "worker_pids", list)())
        tcp0, unix0, sig0 = (len(self.hits.tcp_hits), len(self.hits.unix_hits),
                             len(self.hits.signals))  # fmt: skip
        start = time.monotonic()
        result = self.sandbox.exec(
            attack_source(attack.id), entry="attack", args=[ctx],
            filename=f"{attack.id}.py", timeout=attack.timeout or self.timeout,
        )  # fmt: skip
        seconds = time.monotonic() - start
        time.sleep(0.1)  # let a would-be daemon or late connection show itself
        escapes = self._judge(attack, ctx, result, seconds, before, workers_before)
        escapes += self._listeners(tcp0, unix0, sig0)
        self._clean(ctx)
        return Verdict(attack, not escapes, tuple(escapes), result, seconds)

    def _judge(self, attack: Attack, ctx: dict[str, Any], result: ExecResult, seconds: float,
               before: set[int], workers_before: set[int]) -> list[str]:  # fmt: skip
        escapes: list[str] = []
        blob = repr((result.value, result.stdout, result.stderr, result.error, result.events))
        if self.token in blob:
            escapes.append("canary secret appeared in the job's result")
        if self.decoy_secret_marker in blob:
            escapes.append("decoy's memory or environment appeared in the job's result")
        for where, path in ctx["markers"].items():
            if os.path.lexists(path):
                escapes.append(f"wrote a marker outside the workdir ({where}: {path})")
        if not self.secret_file.exists() or self.secret_file.read_text() != self.token:
            escapes.append("secret file outside the workdir was modified or removed")
        if (self.dir / "decoy-signalled").exists():
            escapes.append("decoy process received a signal from the job")
        if self.decoy.poll() is not None:
            escapes.append("decoy process was killed")
        elif self._traced(self.decoy.pid):
            escapes.append("decoy process is being traced")
        limit = attack.timeout or self.timeout
        if seconds > limit + 10:
            escapes.append(f"job ran {seconds:.1f} s, far past its {limit} s timeout")
        cap = self.sandbox.policy.sandbox.output_bytes
        if len(result.stdout.encode()) + len(result.stderr.encode()) > cap + 1024:
            escapes.append("output exceeded the cap")
        if result.value in ("FORGED", "FORGED-HARNESS", "FORGED-CHILD"):
            escapes.append(f"a forged frame was taken as the result ({result.value})")
        if attack.id in MUST_VIOLATE and result.status is Status.OK and not result.violations:
            escapes.append("a denied or malformed action ended ok with no violation")
        if isinstance(result.value, dict) and result.value.get("opened"):
            escapes.append(f"opened other processes' fds via /proc: {result.value['opened'][:3]}")
        escapes += self.host.escapes()
        if attack.id.startswith("forge") and result.ok and result.wall_s < 0.25:
            escapes.append(f"forged timing accepted (wall {result.wall_s:.3f} s)")
        if "FORGED" in result.stdout and attack.id == "forge_channel":
            escapes.append("a forged closed frame replaced the job's output")
        if result.max_rss_mb > self.sandbox.policy.sandbox.memory_mb * 1.1 + 64:
            escapes.append(f"used {result.max_rss_mb:.0f} MB, above the memory limit")
        escapes += self._leftovers(before, workers_before)
        probe = self.sandbox.exec("def f(x):\n    return x + 1\n", entry="f", args=[41])
        if probe.value != 42:
            escapes.append(f"sandbox no longer answers correctly ({probe.status.value})")
        workers_after = set(getattr(self.sandbox, "worker_pids", list)())
        if attack.id in KEEP_WORKER and workers_after != workers_before:
            escapes.append("the worker died or stopped answering and was replaced")
        return escapes

    decoy_secret_marker = "STOPBOX-DECOY-MEMORY"

    def _listeners(self, tcp0: int, unix0: int, sig0: int) -> list[str]:
        out = []
        if len(self.hits.tcp_hits) > tcp0:
            out.append("the 127.0.0.1 listener saw a connection")
        if len(self.hits.unix_hits) > unix0:
            out.append("the unix-socket listener saw a connection")
        if len(self.hits.signals) > sig0:
            out.append("the harness received a signal")
        return out

    def _traced(self, pid: int) -> bool:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("TracerPid:"):
                    return line.split()[1] != "0"
        except OSError:
            pass
        return False

    def _leftovers(self, before: set[int], workers_before: set[int]) -> list[str]:
        deadline = time.monotonic() + 2.0
        while True:
            now = _descendants(os.getpid())
            workers_now = set(getattr(self.sandbox, "worker_pids", list)())
            fresh_workers = workers_now - workers_before
            # replacements started after a crash are not the job's; under gVisor the host sees
            # the sentry's ptrace stubs (one per address space) come and go: gVisor's, and a
            # process the job left inside would live in gVisor, not on the host
            inside = workers_now if self.sandbox.name in ("gvisor", "docker") else fresh_workers
            standby = getattr(self.sandbox, "standby_pids", None)  # told by the worker's launcher
            allowed = set(fresh_workers) | (standby() if standby else _preforked(workers_now))
            for w in inside:
                allowed |= _descendants(w)
            left = {p for p in now - before - allowed if os.path.exists(f"/proc/{p}")}
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return [f"process left behind: {p} {_cmdline(p)}" for p in sorted(left)]

    def _clean(self, ctx: dict[str, Any]) -> None:
        for path in ctx["markers"].values():
            with contextlib.suppress(OSError):
                os.unlink(path)
        if not self.secret_file.exists() or self.secret_file.read_text() != self.token:
            with contextlib.suppress(OSError):
                self.secret_file.unlink()
            self.secret_file.write_text(self.token)
        with contextlib.suppress(OSError):
            (self.dir / "decoy-signalled").unlink()

    def run_all(self, attacks: tuple[Attack, ...] = ATTACKS) -> Iterator[Verdict]:
        for attack in attacks:
            yield self.run(attack)


_DECOY = """
import signal, sys, time
SECRET = "STOPBOX-DECOY-MEMORY" + "-0123456789"
def hit(sig, frame):
    open(sys.argv[1], "w").write(str(sig))
for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, hit)
while True:
    time.sleep(1)
"""
