"""Conformance: limits, audit events and the pool behave the same on every backend."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from stopbox.harness.sandbox import Sandbox, Status


def test_timeout_kills_the_job_and_the_next_job_works(sandbox: Sandbox) -> None:
    src = "import time\ndef slow():\n    time.sleep(30)\ndef spin():\n    while True: pass\n"
    start = time.monotonic()
    with sandbox.job(src) as job:
        res = job.call("slow", timeout=0.5)
        assert res.status is Status.TIMEOUT
        assert any(v["kind"] == "timeout" for v in res.violations)
        assert 0.4 <= res.wall_s < 3.0
        again = job.call("spin")
        assert again.status is Status.ERROR and "ended" in (again.error or "")
    res = sandbox.exec(src, entry="spin", timeout=0.5)
    assert res.status is Status.TIMEOUT
    assert time.monotonic() - start < 8
    assert sandbox.exec("def f():\n    return 7\n", entry="f").value == 7


def test_memory_limit_python_and_numpy(sandbox: Sandbox) -> None:
    src = (
        "import numpy as np\n"
        "def py():\n    x = []\n    while True:\n        x.append(bytearray(10**7))\n"
        "def npy():\n    return np.ones((1024, 1024, 1024), dtype=np.float64).sum()\n"
    )
    for entry in ("py", "npy"):
        res = sandbox.exec(src, entry=entry)
        assert res.status is Status.MEMORY, (entry, res.status, res.error)
        assert any(v["kind"] == "memory" for v in res.violations)


def test_output_cap_truncates_and_kills(sandbox: Sandbox) -> None:
    cap = sandbox.policy.sandbox.output_bytes
    res = sandbox.exec("def f():\n    while True:\n        print('x' * 1000)\n", entry="f")
    assert res.status is Status.KILLED
    assert res.truncated
    assert len(res.stdout.encode()) + len(res.stderr.encode()) <= cap
    assert any(v["kind"] == "output_cap" for v in res.violations)


def test_audit_events_are_recorded(sandbox: Sandbox) -> None:
    src = (
        "def f():\n"
        "    import subprocess\n"
        "    try:\n        open('/etc/hostname_nope_w', 'w')\n    except OSError:\n        pass\n"
        "    open('inside.txt', 'w').write('fine')\n"
        "    try:\n        subprocess.run(['true'])\n    except OSError:\n        pass\n"
        "    return 1\n"
    )
    res = sandbox.exec(src, entry="f")
    names = [e["event"] for e in res.events if e["kind"] == "audit"]
    assert "subprocess.Popen" in names
    assert "import" in names  # subprocess is outside the allow-list
    opened = [e for e in res.events if e["event"] == "open"]
    assert any("hostname_nope_w" in e["args"][0] for e in opened)
    assert not any("inside.txt" in e["args"][0] for e in opened)  # the workdir is allowed
    assert res.status is Status.VIOLATION
    layers = [e for e in res.events if e["kind"] == "sandbox" and e["event"] == "layers"]
    assert len(layers) == 1


def test_pool_reuses_workers(sandbox: Sandbox) -> None:
    pids_before = set(sandbox.worker_pids())  # type: ignore[attr-defined]
    for _ in range(6):
        assert sandbox.exec("def f():\n    return 1\n", entry="f").ok
    assert set(sandbox.worker_pids()) == pids_before  # type: ignore[attr-defined]


def test_crashed_worker_is_replaced_and_its_job_reported(sandbox: Sandbox) -> None:
    src = "import time\ndef slow():\n    time.sleep(20)\n"
    job = sandbox.job(src)
    victim = job.worker.pid  # type: ignore[attr-defined]
    threading.Timer(0.5, lambda: os.killpg(victim, signal.SIGKILL)).start()
    res = job.call("slow", timeout=15)
    final = job.close()
    assert res.status in (Status.ERROR, Status.KILLED)
    assert any(v["kind"] == "crash" for v in res.violations)
    assert final.status is not Status.OK
    assert victim not in sandbox.worker_pids()  # type: ignore[attr-defined]
    for _ in range(3):  # the pool carries on with a replacement
        assert sandbox.exec("def f():\n    return 2\n", entry="f").value == 2


def test_parallel_jobs_from_threads(sandbox: Sandbox) -> None:
    src = "import time\ndef f(i):\n    time.sleep(0.3)\n    return i * i\n"
    spans: list[tuple[float, float]] = []

    def run(i: int) -> object:
        t0 = time.monotonic()
        res = sandbox.exec(src, entry="f", args=[i])
        spans.append((t0 + (time.monotonic() - t0) - res.wall_s, time.monotonic()))
        return res.value

    with ThreadPoolExecutor(max_workers=4) as pool:
        values = list(pool.map(run, range(8)))
    assert values == [i * i for i in range(8)]
    # not strictly serial through one worker: at least two jobs' calls overlapped in time
    # (checked by the intervals, not by a wall-clock bound that a loaded machine breaks)
    spans.sort()
    assert any(spans[k + 1][0] < spans[k][1] for k in range(len(spans) - 1)), spans


def test_kill_action_ends_the_job_with_sigsys(backend_name: str) -> None:
    """policy.syscalls.action = "kill": a denied syscall kills the job (status violation)."""
    import dataclasses

    from stopbox.harness.sandbox import started
    from tests.conftest import make_test_policy, require_backend

    require_backend(backend_name)
    base = make_test_policy()
    policy = dataclasses.replace(base, syscalls=dataclasses.replace(base.syscalls, action="kill"))
    src = "import socket\ndef f():\n    socket.socket()\n    return 'survived'\n"
    with started(backend_name, policy, pool_size=1) as sb:
        res = sb.exec(src, entry="f")
        assert res.status is Status.VIOLATION
        assert res.value != "survived"
        assert any(v["kind"] == "sigsys" for v in res.violations)
        assert sb.exec("def g():\n    return 5\n", entry="g").value == 5


def test_cpu_limit_ends_a_busy_job(backend_name: str) -> None:
    """RLIMIT_CPU ends a spinning job even when its wall-clock timeout is generous."""
    from stopbox.harness.sandbox import started
    from tests.conftest import make_test_policy, require_backend

    require_backend(backend_name)
    policy = make_test_policy(cpu_s=1, call_timeout_s=20.0)
    with started(backend_name, policy, pool_size=1) as sb:
        start = time.monotonic()
        res = sb.exec("def f():\n    while True:\n        pass\n", entry="f", timeout=20)
        assert time.monotonic() - start < 10
        assert res.status is Status.TIMEOUT
        assert any(v["kind"] == "rlimit" and v.get("limit") == "cpu" for v in res.violations)


def test_interpreter_internals_raise_no_dynamic_code_events(sandbox: Sandbox) -> None:
    # imports run module code, traceback compiles source lines, dataclasses and namedtuple build
    # methods with exec and look up their caller with sys._getframe: none of that is the job's
    src = (
        "import fractions, statistics\n"
        "from collections import namedtuple\n"
        "from dataclasses import dataclass\n"
        "@dataclass\nclass A:\n    x: int = 1\n"
        "P = namedtuple('P', 'a b')\n"
        "def f():\n"
        "    try:\n        1 / 0\n    except ZeroDivisionError as exc:\n"
        "        return str(A(P(1, 2).a).x) + repr(exc)\n"
    )
    res = sandbox.exec(src, entry="f")
    assert res.ok, res.error
    noisy = {"exec", "compile", "sys._getframe", "object.__setattr__"}
    assert [e for e in res.events if e.get("event") in noisy] == []


def test_code_the_job_builds_itself_is_reported(sandbox: Sandbox) -> None:
    src = "import sys\ndef f():\n    exec('y = 2')\n    sys._getframe()\n    return 1\n"
    res = sandbox.exec(src, entry="f")
    assert res.ok, res.error
    names = [e["event"] for e in res.events if e["kind"] == "audit"]
    assert {"compile", "exec", "sys._getframe"} <= set(names)
