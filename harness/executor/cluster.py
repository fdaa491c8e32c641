"""A throw-away multi-node Ray cluster on this machine, for tests and benchmarks (root, Linux).

Ray advertises, and connects to, the machine's outward address; a test must never.  So the
cluster lives in a network namespace it creates with only ``lo`` up: there 127.0.0.1 is the only
address Ray can find.  Each node is ``ray start --block`` inside its own PID namespace
(``unshare --pid --fork --kill-child``), so :meth:`LocalRayCluster.kill_node` kills a node and
everything it started at once (a node dying), and :meth:`LocalRayCluster.close` stops exactly the
processes the cluster started (never ``ray stop``, which stops every Ray on the machine).  Token
authentication stays on with a token of the cluster's own (``RAY_AUTH_TOKEN_PATH``); commands run
with :meth:`LocalRayCluster.command` get it.

    with LocalRayCluster(nodes=2) as cluster:
        subprocess.run(cluster.command(["stopbox", "study", "bypass", "--executor", "ray",
                                        "--ray-address", cluster.address, ...]),
                       env=cluster.env(), check=True)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from stopbox.harness.executor._base import ExecutorUnavailableError

__all__ = ["LocalRayCluster", "cluster_unavailable_reason"]

HEAD_PORT = 6379
READY_LINE = "Ray runtime started."
FAST_FAILURE_DETECTION = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3}
"""Head system config: a dead node is noticed in a few seconds instead of ~30."""


def cluster_unavailable_reason() -> str | None:
    """Why a :class:`LocalRayCluster` cannot start here, or None."""
    if sys.platform != "linux":
        return "needs Linux network and PID namespaces"
    if os.geteuid() != 0:
        return "needs root (ip netns add, unshare --pid)"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"needs the {tool!r} command"
    if not (Path(sys.executable).parent / "ray").exists():
        return "needs Ray: pip install 'stopbox[ray]'"
    return None


@dataclass(slots=True)
class _Node:
    index: int
    proc: subprocess.Popen[bytes]
    log: Path
    temp_dir: Path


class LocalRayCluster:
    """``nodes`` Ray nodes (the first is the head) in a private network namespace."""

    def __init__(
        self,
        nodes: int = 2,
        *,
        num_cpus: int = 1,
        object_store_memory: int = 200_000_000,
        niceness: int = 10,
        start_timeout_s: float = 180.0,
    ) -> None:
        reason = cluster_unavailable_reason()
        if reason:
            raise ExecutorUnavailableError(f"local Ray cluster: {reason}")
        if nodes < 1:
            raise ValueError("nodes must be at least 1")
        self.n_nodes, self.num_cpus = nodes, num_cpus
        self.object_store_memory, self.niceness = object_store_memory, niceness
        self.start_timeout_s = start_timeout_s
        self.netns = f"stopbox-ray-{os.getpid()}-{secrets.token_hex(3)}"
        self.root = Path(tempfile.mkdtemp(prefix="stopbox-rc-"))
        self.token_path = self.root / "auth_token"
        self.address = f"127.0.0.1:{HEAD_PORT}"
        self.nodes: list[_Node] = []
        self._netns_made = False

    # -- environment and commands ---------------------------------------------------------------

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment for commands run against the cluster (its auth token, no RAY_ADDRESS)."""
        env = dict(os.environ if base is None else base)
        env.pop("RAY_ADDRESS", None)
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(self.token_path))
        return env

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the cluster's network namespace (only that: ``nsenter --net``, not
        ``ip netns exec``, which also remounts /sys and so hides the cgroup hierarchy that the
        sandbox's per-job cgroups need)."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", *argv]

    def _ray_start(self, index: int, temp_dir: Path) -> list[str]:
        ray = str(Path(sys.executable).parent / "ray")
        argv = [
            ray, "start", "--block", "--disable-usage-stats",
            "--node-ip-address", "127.0.0.1",
            "--num-cpus", str(self.num_cpus),
            "--object-store-memory", str(self.object_store_memory),
            "--temp-dir", str(temp_dir),
        ]  # fmt: skip
        if index == 0:
            argv += [
                "--head", "--port", str(HEAD_PORT), "--include-dashboard", "false",
                "--system-config", json.dumps(FAST_FAILURE_DETECTION),
            ]  # fmt: skip
        else:
            argv += ["--address", self.address]
        nice = ["nice", "-n", str(self.niceness)] if self.niceness else []
        return self.command(
            ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", *nice, *argv]
        )

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalRayCluster:
        self.token_path.write_text(secrets.token_hex(32), encoding="utf-8")
        self.token_path.chmod(0o600)
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        self._netns_made = True
        subprocess.run(self.command(["ip", "link", "set", "lo", "up"]), check=True)
        try:
            for index in range(self.n_nodes):
                self._start_node(index)
        except BaseException:
            self.close()
            raise
        return self

    def restart_node(self, index: int) -> None:
        """Start node ``index`` again after :meth:`kill_node` (a fresh Ray node, new node id)."""
        if self.alive(index):
            raise ValueError(f"node {index} is still running")
        self._start_node(index)

    def _start_node(self, index: int) -> None:
        starts = sum(1 for p in self.root.iterdir() if p.name.startswith(f"n{index}"))
        temp_dir = self.root / (f"n{index}" if not starts else f"n{index}-{starts}")
        temp_dir.mkdir()
        log = self.root / (f"node{index}.log" if not starts else f"node{index}-{starts}.log")
        # Each node its own TMPDIR: the nodes share this machine's /tmp but not its PID numbers
        # (each is a PID namespace), and the sandbox removes worker directories of "dead" owner
        # pids it finds in TMPDIR — another node's live ones, with a shared /tmp.
        tmp = temp_dir / "tmp"
        tmp.mkdir()
        tmp.chmod(0o1777)  # as /tmp: sandbox jobs (another uid) reach their worker directory
        self.root.chmod(0o711)  # traversable, not listable (the auth token file stays 0600)
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                self._ray_start(index, temp_dir),
                stdout=fh,
                stderr=subprocess.STDOUT,
                env={**self.env(), "TMPDIR": str(tmp)},
                start_new_session=True,
            )
        node = _Node(index, proc, log, temp_dir)
        if index < len(self.nodes):
            self.nodes[index] = node
        else:
            self.nodes.append(node)
        deadline = time.monotonic() + self.start_timeout_s
        while READY_LINE not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise ExecutorUnavailableError(f"Ray node {index} did not start:\n{tail}")
            time.sleep(0.5)

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index`` and everything in its PID namespace (a node dying)."""
        node = self.nodes[index]
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)  # --kill-child takes the namespace down with it
            node.proc.wait(timeout=30)

    def alive(self, index: int) -> bool:
        return self.nodes[index].proc.poll() is None

    def close(self) -> None:
        """Stop the nodes this cluster started (workers first), delete the netns and files.

        Each node is the PID namespace it was started in: killing its first process ends every
        process of the node, and nothing else."""
        for node in reversed(self.nodes):
            self.kill_node(node.index)
        if self._netns_made:
            subprocess.run(["ip", "netns", "delete", self.netns], check=False, capture_output=True)
            self._netns_made = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
