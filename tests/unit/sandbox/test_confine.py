"""Confinement building blocks that can be checked without starting a worker."""

from __future__ import annotations

import struct

from stopbox.harness.sandbox.worker import _confine


def test_deny_set_applies_policy_deny_and_allow() -> None:
    deny = _confine.deny_set(["uname"], ["ptrace"])
    assert "uname" in deny and "socket" in deny and "execve" in deny
    assert "ptrace" not in deny


def test_filter_compiles_and_binds_the_job_pid() -> None:
    bpf = _confine.compile_seccomp([], [], "errno", _confine.PID_PLACEHOLDER)
    assert len(bpf) % 8 == 0 and len(bpf) > 8 * 20
    ks = [struct.unpack_from("<HBBI", bpf, i)[3] for i in range(0, len(bpf), 8)]
    assert ks.count(_confine.PID_PLACEHOLDER) >= 1  # libseccomp may share one comparison
    bound = _confine.bind_pid(bpf, 4242)
    ks2 = [struct.unpack_from("<HBBI", bound, i)[3] for i in range(0, len(bound), 8)]
    assert _confine.PID_PLACEHOLDER not in ks2
    assert ks2.count(4242) == ks.count(_confine.PID_PLACEHOLDER)


def test_kill_action_differs_from_errno_action() -> None:
    errno_bpf = _confine.compile_seccomp([], [], "errno", 1)
    kill_bpf = _confine.compile_seccomp([], [], "kill", 1)
    assert errno_bpf != kill_bpf


def test_read_paths_cover_the_interpreter_but_not_the_project() -> None:
    import sys
    from pathlib import Path

    paths = _confine.default_read_paths("/nonexistent-worker-dir")
    assert sys.prefix in paths
    project = str(Path(__file__).resolve().parents[3])
    assert project not in paths
    assert not any(p == "/" or p == "/etc" or p == "/root" for p in paths)
