"""docker backend specifics: the `docker run` line, unavailable reasons and container clean-up."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from stopbox.harness.policy import default_policy
from stopbox.harness.sandbox.backends.docker import LABEL_OWNER, DockerSandbox, docker_run_argv
from stopbox.harness.sandbox.backends.gvisor import WORKER_MOUNT
from stopbox.harness.sandbox.backends.image.rootfs import SCRATCH


def test_docker_run_line_has_every_confinement_flag_and_policy_limits() -> None:
    policy = default_policy()
    limits = dataclasses.replace(policy.sandbox, memory_mb=300, docker_image="img:tag")
    argv = docker_run_argv(limits, "stopbox-1-x", Path("/w"), "/py", owner=42)
    for flag in ("-i", "--rm", "--runtime=runsc", "--network=none", "--read-only",
                 "--cap-drop=ALL", "--security-opt=no-new-privileges", "--name=stopbox-1-x",
                 f"--label={LABEL_OWNER}=42", "--memory=652m", "--user=0:0",
                 f"--volume=/w:{WORKER_MOUNT}:ro"):  # fmt: skip
        assert flag in argv, flag
    assert any(a.startswith("--pids-limit=") for a in argv)
    assert any(a.startswith(f"--tmpfs={SCRATCH}:") for a in argv)
    assert not any(a.startswith("--tmpfs=/tmp") for a in argv)  # a checkout under /tmp stays
    image = argv.index("img:tag")
    worker = ["/py", "-I", f"{WORKER_MOUNT}/_worker.py", "--isolation=gvisor"]
    assert argv[image + 1 :] == worker
    # root of gVisor's kernel only, with just what per-job namespaces and the uid drop need
    added = sorted(a for a in argv if a.startswith("--cap-add="))
    assert added == [
        "--cap-add=KILL",
        "--cap-add=SETGID",
        "--cap-add=SETUID",
        "--cap-add=SYS_ADMIN",
    ]
    assert not any(a.startswith(("--privileged", "-v=/var/run", "--volume=/var/run")) for a in argv)


def test_unavailable_reason_without_docker_cli_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = DockerSandbox.unavailable_reason()
    assert reason is not None and "apt-get install docker.io" in reason


def test_unavailable_reason_with_a_missing_image_says_run_setup() -> None:
    from tests.conftest import require_backend

    require_backend("docker")
    reason = DockerSandbox._reason("stopbox-no-such-image:never")
    assert reason is not None
    assert "missing" in reason and "make setup-backends" in reason


def test_containers_are_removed_on_close() -> None:
    from tests.conftest import make_test_policy, require_backend

    require_backend("docker")
    docker = shutil.which("docker")
    assert docker is not None
    sb = DockerSandbox(make_test_policy(pool_size=1))
    sb.start()
    try:
        res = sb.exec("import os\ndef f():\n    return os.getuid()\n", entry="f")
        assert res.ok, res.error
        assert res.value == 65534
        names = list(sb._names)
        assert names
    finally:
        sb.close()
    listed = subprocess.run(
        [docker, "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, timeout=60
    ).stdout.split()
    assert not set(names) & set(listed)
