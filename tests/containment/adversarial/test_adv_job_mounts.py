"""Nothing of a job's mounts outlives it (red team F3).

Under gVisor (gvisor, docker; runsc 20221219) a mount made in a job's fresh mount namespace
showed in the worker's too: every job's /tmp, /dev/shm, workdir and /proc stayed mounted under
the next job's, the sandbox kept each job's tmpfs pages, and the 8th job that filled its own
tmpfs mounts on one worker ended "worker died".  Judged by the results of later jobs and by the
memory the sandbox keeps.
"""

from __future__ import annotations

from stopbox.harness.sandbox import Sandbox, Status

FILL = r"""
import os
def f():
    n = 0
    for d in ("/tmp", "/dev/shm", "."):
        try:
            for i in range(40):
                with open(os.path.join(d, "fill%d" % i), "wb") as fh:
                    fh.write(os.urandom(1 << 20))
                n += 1
        except OSError:
            pass
    return n
"""


def test_job_tmpfs_memory_and_mounts_are_gone_after_each_job(sandbox: Sandbox) -> None:
    """20 jobs, each filling its own /tmp, /dev/shm and workdir (about 95 MB, inside their
    sizes): every one ends ok (two workers: about 10 jobs each, past the 8 that broke a gVisor
    worker whose earlier jobs' tmpfs pages were all kept)."""
    bad = []
    for i in range(20):
        res = sandbox.exec(FILL, entry="f", timeout=30.0)
        if res.status is not Status.OK or not isinstance(res.value, int) or res.value < 80:
            bad.append((i, res.status.value, res.value, res.error, res.violations))
    assert not bad, bad
