"""Concurrent jobs on the runsc-based backends never end in ``error``.

Found on the docker backend: about 1 in 150 jobs run from two threads on a two-worker pool ended
``error`` with a ``crash`` violation "worker died: worker exited (no stderr)".  Cause (runsc debug
and panic logs, container exit status 2, ``pids.current`` of the container's cgroup sampled):
the gVisor sentry's host threads and ptrace stub processes reached the container's pids limit
(128; two busy workers peak at about 125), and runsc 20221219 panics when it cannot create a stub
("error initializing first thread: resource temporarily unavailable").  The limit is now
``gvisor.sentry_pids_limit`` (at least 512).  No wall-clock bound here: only outcomes.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from stopbox.harness.sandbox import Status, started
from tests.conftest import make_test_policy, require_backend

JOBS_PER_THREAD = 60


@pytest.mark.parametrize("backend", ["docker", "gvisor"])
def test_concurrent_jobs_never_end_in_error(backend: str) -> None:
    require_backend(backend)
    src = "def f(i):\n    return i * i\n"
    outcomes: Counter[str] = Counter()
    wrong: list[tuple[int, object, str | None]] = []
    lock = threading.Lock()

    def run(sb: object) -> None:
        for i in range(JOBS_PER_THREAD):
            res = sb.exec(src, entry="f", args=[i])  # type: ignore[attr-defined]
            with lock:
                outcomes[res.status.value] += 1
                if res.status is not Status.OK or res.value != i * i:
                    wrong.append((i, res.status.value, res.error))

    with started(backend, make_test_policy(pool_size=2), pool_size=2) as sb:
        threads = [threading.Thread(target=run, args=(sb,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert outcomes["ok"] == 2 * JOBS_PER_THREAD, (dict(outcomes), wrong[:5])
