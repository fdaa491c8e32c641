"""`docker` backend: the same worker in ``docker run -i --rm --runtime=runsc`` on the local image.

Every worker is one container of the locally built image (``make setup-backends``, see
:mod:`stopbox.harness.sandbox.backends.image.docker_image`): gVisor runtime, no network, read-only
root, all capabilities dropped, no new privileges, pids/memory/cpu limits from the policy, a
private tmpfs at ``SCRATCH`` (not ``/tmp``, which may hold the checkout), the worker files
bind-mounted read-only.  The worker is root of gVisor's kernel, not the host's (SYS_ADMIN, SETUID,
SETGID, KILL inside gVisor only, to give each job its own namespaces and tmpfs mounts); every
job drops to ``nobody``.

Containers are named ``stopbox-<pid>-<random>`` and labelled ``stopbox.owner=<pid>``: they are
removed on close, when their worker is replaced, and (for harness processes that died) the next
time a docker sandbox starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import structlog

from stopbox.harness.errors import SandboxUnavailableError
from stopbox.harness.policy import Policy, SandboxLimits
from stopbox.harness.sandbox._base import backend
from stopbox.harness.sandbox._channel import WorkerProcess
from stopbox.harness.sandbox._pool import WorkerSandbox
from stopbox.harness.sandbox.backends._layers import LayeredSandbox
from stopbox.harness.sandbox.backends.gvisor import WORKER_MOUNT, sentry_pids_limit
from stopbox.harness.sandbox.backends.image.docker_image import LABEL_PYTHON, image_labels
from stopbox.harness.sandbox.backends.image.rootfs import SCRATCH

__all__ = ["DockerSandbox", "docker_run_argv", "remove_stale_containers"]

log = structlog.get_logger(__name__)
RUNTIME = os.environ.get("STOPBOX_DOCKER_RUNTIME", "runsc")
LABEL_OWNER = "stopbox.owner"
SETUP_HINT = "run `make setup-backends` (as root)"


def _docker() -> str | None:
    return shutil.which("docker")


def _run(argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)


def worker_memory_mb_for(limits: SandboxLimits) -> int:
    """As gvisor.worker_memory_mb: worker + one job at its RLIMIT_AS + its three tmpfs mounts."""
    return limits.memory_mb + 3 * max(16, 4 * limits.file_size_mb) + 256


def docker_run_argv(
    limits: SandboxLimits,
    name: str,
    worker_dir: Path,
    python: str,
    *,
    owner: int,
    extra: Sequence[str] = (),
    image: str | None = None,
) -> list[str]:
    """The ``docker run`` command line of one worker container (``image``: the image id the
    pool pinned at start, else the policy's tag)."""
    # The gVisor sentry's host threads and ptrace stubs count against the container's pids cgroup;
    # at the limit runsc panics (exit 2): see gvisor.sentry_pids_limit.
    pids = sentry_pids_limit(limits.processes)
    memory_mb = worker_memory_mb_for(limits)  # worker + one job (RLIMIT_AS) + its tmpfs mounts
    tmp_mb = max(64, limits.file_size_mb * 4 + 32)
    return [
        "docker",
        "run",
        "-i",
        "--rm",
        f"--name={name}",
        f"--label={LABEL_OWNER}={owner}",
        f"--runtime={RUNTIME}",
        "--network=none",
        "--read-only",
        "--cap-drop=ALL",
        # root inside gVisor's own kernel (runsc), with only what the worker needs to give each
        # job its own mount/pid/ipc namespaces and tmpfs mounts, then drop the job to nobody
        "--cap-add=SYS_ADMIN",
        "--cap-add=SETUID",
        "--cap-add=SETGID",
        "--cap-add=KILL",
        "--security-opt=no-new-privileges",
        f"--pids-limit={pids}",
        f"--memory={memory_mb}m",
        f"--memory-swap={memory_mb}m",
        "--cpus=1",
        "--user=0:0",
        "--log-driver=none",
        f"--tmpfs={SCRATCH}:rw,nosuid,nodev,size={tmp_mb}m,mode=1777",
        f"--volume={worker_dir}:{WORKER_MOUNT}:ro",
        f"--workdir={SCRATCH}",
        "--env=LANG=C.UTF-8",
        f"--env=HOME={SCRATCH}",
        f"--env=TMPDIR={SCRATCH}",
        image or limits.docker_image,
        python,
        "-I",
        f"{WORKER_MOUNT}/_worker.py",
        "--isolation=gvisor",
        *extra,
    ]


def remove_stale_containers(docker: str = "docker") -> list[str]:
    """Remove stopbox containers whose owning harness process no longer exists."""
    proc = _run(
        [docker, "ps", "-a", "--filter", f"label={LABEL_OWNER}",
         "--format", f'{{{{.Names}}}} {{{{.Label "{LABEL_OWNER}"}}}}'],
    )  # fmt: skip
    stale = []
    for line in proc.stdout.splitlines():
        name, _, owner = line.partition(" ")
        if owner.isdigit() and int(owner) != os.getpid() and not Path(f"/proc/{owner}").exists():
            stale.append(name)
    if stale:
        _run([docker, "rm", "-f", *stale], timeout=120)
    return stale


def _sweep_quietly() -> None:
    try:
        remove_stale_containers()
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not remove stale containers", error=repr(exc))


@backend("docker")
class DockerSandbox(LayeredSandbox, WorkerSandbox):
    """Warm pool of workers, each in its own container (gVisor runtime, network none)."""

    isolation = "gvisor"

    def __init__(self, policy: Policy, *, pool_size: int | None = None) -> None:
        super().__init__(policy, pool_size=pool_size)
        self._names: list[str] = []
        self._names_lock = threading.Lock()
        self._python = ""
        self._image = ""

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return cls._reason(SandboxLimits().docker_image)

    @classmethod
    def _reason(cls, image: str) -> str | None:
        docker = _docker()
        if docker is None:
            return f"docker CLI not found: apt-get install docker.io, or {SETUP_HINT}"
        try:
            info = _run([docker, "info", "--format", "{{json .Runtimes}}"], timeout=20)
        except subprocess.TimeoutExpired:
            return f"docker daemon does not answer: start dockerd, or {SETUP_HINT}"
        if info.returncode != 0:
            return f"docker daemon not running: start dockerd, or {SETUP_HINT}"
        if f'"{RUNTIME}"' not in info.stdout:
            return (
                f"docker runtime {RUNTIME!r} is not configured in /etc/docker/daemon.json: "
                f"{SETUP_HINT}"
            )
        labels = image_labels(image, docker)
        if labels is None:
            return f"docker image {image} is missing: {SETUP_HINT}"
        if LABEL_PYTHON not in labels:
            return f"docker image {image} was not built by stopbox: {SETUP_HINT}"
        return None

    def start(self) -> None:
        reason = self._reason(self.policy.sandbox.docker_image)
        if reason is not None:
            raise SandboxUnavailableError(f"backend 'docker' is unavailable: {reason}")
        # Pin the image by id: a rebuild of the tag while this pool runs (another checkout on the
        # same host) must not swap the root filesystem under its workers.
        tag = self.policy.sandbox.docker_image
        got = _run([_docker() or "docker", "image", "inspect", "--format", "{{.Id}}", tag])
        self._image = got.stdout.strip() if got.returncode == 0 and got.stdout.strip() else tag
        labels = image_labels(self._image) or {}
        self._python = labels.get(LABEL_PYTHON, "python3")
        # in the background: removing a container whose runtime hangs can block for long
        threading.Thread(target=_sweep_quietly, daemon=True).start()
        super().start()

    def worker_env(self) -> dict[str, str] | None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        for key in ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "HOME"):
            if key in os.environ:
                env[key] = os.environ[key]
        return env

    def worker_command(self, worker_dir: Path) -> list[str]:
        name = f"stopbox-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        with self._names_lock:
            self._names.append(name)
        argv = docker_run_argv(
            self.policy.sandbox,
            name,
            worker_dir,
            self._python or "python3",
            owner=os.getpid(),
            extra=[o for o in self.worker_options() if not o.startswith("--isolation=")],
            image=self._image or None,
        )
        argv[0] = _docker() or "docker"
        return argv

    def _discard(self, worker: WorkerProcess) -> None:
        """A crashed or wedged worker: kill its launcher and remove its container."""
        super()._discard(worker)
        names = [a.split("=", 1)[1] for a in worker.argv if a.startswith("--name=")]
        docker = _docker()
        if not names or docker is None:
            return

        def remove() -> None:
            try:
                _run([docker, "rm", "-f", *names], timeout=120)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("could not remove container", names=names, error=repr(exc))
            with self._names_lock:
                self._names = [n for n in self._names if n not in names]

        threading.Thread(target=remove, daemon=True).start()

    def close(self) -> None:
        super().close()
        with self._names_lock:
            names, self._names = self._names, []
        docker = _docker()
        if names and docker is not None:
            try:
                _run([docker, "rm", "-f", *names], timeout=120)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("could not remove containers", names=names, error=repr(exc))
