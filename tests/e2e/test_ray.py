"""`stopbox study bypass`, `run` and `transfer` with `--executor ray` on a real two-node Ray
cluster (issue 14).

The cluster (:class:`~stopbox.harness.executor.cluster.LocalRayCluster`) is a head and a second
node, each ``--num-cpus 1``, inside a network namespace this test creates with only ``lo`` up, so
Ray can neither advertise nor reach the machine's outward address; the ``stopbox`` driver runs in
the same namespace.  Checks: both nodes ran units; the figures equal the local executor's with the
same seed; and with the second node killed mid-study (SIGKILL of its whole PID namespace) the
study still completes, its lost units re-run on the head, every attempt counted once.  A
1-iteration `stopbox run` and a short `stopbox transfer` on the cluster give the local executor's
report (both nodes ran meta-utility tests / transfer items); a run whose second node is killed
while it runs a meta-utility test still completes with the same report.  Only the processes the
cluster started are stopped, and the namespace is deleted.

Skipped with the reason when Ray or root is missing, unless STOPBOX_REQUIRE_BACKENDS names
``ray`` (CI), in which case it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ray_required

STOPBOX = str(Path(sys.executable).parent / "stopbox")
SAMPLES = 300
STUDY = ["study", "bypass", "--prompt", "plain", "--samples", str(SAMPLES),
         "--samples-per-call", "1", "--red-team-rate", "0.2", "--seed", "7"]  # fmt: skip


def _require_cluster() -> None:
    from stopbox.harness.executor.cluster import cluster_unavailable_reason

    try:
        import ray  # noqa: F401
    except ImportError:
        reason: str | None = "Ray is not installed (pip install -e '.[ray]')"
    else:
        reason = cluster_unavailable_reason()
    if reason is None:
        return
    if ray_required():
        pytest.fail(f"ray is required (STOPBOX_REQUIRE_RAY) but: {reason}")
    pytest.skip(f"two-node Ray cluster unavailable: {reason}")


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("STOPBOX_CACHE", str(tmp_path / "cache"))
    env.pop("OPENAI_API_KEY", None)  # the synthetic LM
    return env


def _ledger_keys(out: Path) -> list[tuple[str, int]]:
    lines = (out / "attempts.jsonl").read_text(encoding="utf-8").splitlines()
    return [(r["prompt"], r["call"]) for r in map(json.loads, lines)]


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


RUN = ["run", "--lm", "synthetic", "--iterations", "1", "--policy", "quick", "--seed", "3",
       "--jobs", "1"]  # fmt: skip
TRANSFER = ["transfer", "--improver", "seeds/improver.py", "--tasks", "lpn,parity",
            "--lm", "synthetic", "--repeats", "1", "--policy", "quick", "--seed", "1",
            "--jobs", "1"]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]


def _figures(out: Path) -> dict[str, Any]:
    """report.json without what names the run (its directory, creation time, title)."""
    report = _load(out / "report.json")
    report.pop("title")
    report["run"] = {k: v for k, v in report["run"].items() if k not in ("id", "created")}
    return dict(report)


def _stopbox(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def _both_nodes_ran(out: Path) -> dict[str, Any]:
    summary = _load(out / "executor.json")
    assert summary["executor"] == "ray"
    assert len(summary["per_node"]) == 2 and all(n > 0 for n in summary["per_node"].values()), (
        summary
    )
    return dict(summary)


def _both_nodes_running_units(status: Path) -> bool:
    """Both nodes have units in flight (the live executor.json says so): time to kill one."""
    try:
        in_flight = _load(status)["in_flight_per_node"]
    except (OSError, ValueError, KeyError):
        return False
    return len(in_flight) == 2 and min(in_flight.values()) > 0


def test_study_on_two_ray_nodes_equals_local_and_survives_a_node_death(tmp_path: Path) -> None:
    _require_cluster()
    from stopbox.harness.executor.cluster import LocalRayCluster

    env = _env(tmp_path)
    local = tmp_path / "local"
    done = subprocess.run(
        [STOPBOX, *STUDY, "--out", str(local)], env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    expected = _load(local / "study.json")
    assert expected["prompts"]["plain"]["samples"] == SAMPLES

    for argv, out in ((RUN, "run-local"), (TRANSFER, "transfer-local")):
        done = _stopbox([STOPBOX, *argv, "--out", str(tmp_path / out)], env)
        assert done.returncode == 0, done.stderr[-3000:]

    with LocalRayCluster(nodes=2, num_cpus=1) as cluster:
        cluster_env = cluster.env(env)
        # few units in flight: both nodes keep taking units until the end
        ray_args = ["--executor", "ray", "--ray-address", cluster.address, "--max-concurrency", "8"]

        # 1. both nodes take units; the figures are the local executor's
        both = tmp_path / "ray-both"
        done = subprocess.run(
            cluster.command([STOPBOX, *STUDY, *ray_args, "--out", str(both)]),
            env=cluster_env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        summary = _load(both / "executor.json")
        assert summary["executor"] == "ray"
        assert len(summary["per_node"]) == 2, summary
        assert all(n > 0 for n in summary["per_node"].values()), summary
        assert all(node.startswith("127.0.0.1/") for node in summary["per_node"]), summary
        assert _load(both / "study.json") == expected

        # 2. the second node dies mid-study: the study completes, every attempt counted once
        killed = tmp_path / "ray-killed"
        proc = subprocess.Popen(
            cluster.command([STOPBOX, *STUDY, *ray_args, "--out", str(killed)]),
            env=cluster_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            status = killed / "executor.json"
            while not _both_nodes_running_units(status):
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the study made no progress on both nodes"
                time.sleep(0.05)
            cluster.kill_node(1)
            assert not cluster.alive(1)
            _, stderr = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, stderr[-3000:]
        keys = _ledger_keys(killed)
        assert sorted(keys) == [("plain", c) for c in range(SAMPLES)]  # each call once
        summary = _load(killed / "executor.json")
        assert summary["retried"] >= 1, summary  # units lost with the node ran again
        assert _load(killed / "study.json") == expected

        # 3. a 1-iteration run and a short transfer: both nodes ran units; the local figures
        cluster.restart_node(1)
        ray_units = ["--executor", "ray", "--ray-address", cluster.address]
        for argv, name in ((RUN, "run"), (TRANSFER, "transfer")):
            out = tmp_path / f"{name}-ray"
            done = _stopbox(cluster.command([STOPBOX, *argv, *ray_units, "--out", str(out)]),
                            cluster_env)  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            _both_nodes_ran(out)
            assert _figures(out) == _figures(tmp_path / f"{name}-local")

        # 4. the second node dies while it runs a meta-utility test: the run completes, its
        # lost unit ran again on the head, the report is the local one (nothing counted twice)
        killed = tmp_path / "run-killed"
        proc = subprocess.Popen(
            cluster.command([STOPBOX, *RUN, *ray_units, "--out", str(killed)]), cwd=ROOT,
            env=cluster_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while not _both_nodes_running_units(killed / "executor.json"):
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the run made no progress on both nodes"
                time.sleep(0.05)
            cluster.kill_node(1)
            _, stderr = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, stderr[-3000:]
        assert _load(killed / "executor.json")["retried"] >= 1
        assert _figures(killed) == _figures(tmp_path / "run-local")
