"""Who the job is on the host, read from ``/proc`` outside the sandbox while the job runs.

* its host uid is never 0 (every field of ``Uid:``), on every backend;
* every namespace of its host processes differs from the harness's;
* on the seccomp backend (where the job is a host process) it also has its own pid, mount and
  ipc namespaces, not the worker's: jobs must not share them.

Under gVisor and docker the host sees the sandbox's processes (the sentry and, on the ptrace
platform, its stub processes): those are what is checked there.
"""

from __future__ import annotations

from _outside import NAMESPACES, job_processes, namespaces, worker_namespaces_of_job

from stopbox.harness.sandbox import Sandbox, Status

HOLD = "import time\ndef hold():\n    time.sleep(1.6)\n    return 'held'\n"


def _job_host_processes(sandbox: Sandbox) -> dict:
    res, procs = job_processes(sandbox, HOLD)
    assert res.status is Status.OK and res.value == "held", res.error
    if not procs and sandbox.name in ("gvisor", "docker"):
        # no process appeared for this job: the sentry runs it; check the sandbox's processes
        from _outside import cmdline, host_tree, uids

        procs = {p: (uids(p), namespaces(p), cmdline(p)) for p in host_tree(sandbox)}
    # runsc-gofer is gVisor's file proxy (host root, chrooted, its own seccomp filter): it never
    # runs the job's code, the sentry and its stubs do; see SECURITY.md
    procs = {p: v for p, v in procs.items() if not v[2].startswith("runsc-gofer")}
    assert procs, "no host process of the job was found"
    return procs


def test_job_host_uid_is_never_root(sandbox: Sandbox) -> None:
    procs = _job_host_processes(sandbox)
    root = {pid: (u, cmd) for pid, (u, _ns, cmd) in procs.items() if 0 in u}
    assert not root, f"job processes run as host uid 0 (Uid real/eff/saved/fs): {root}"


def test_job_namespaces_differ_from_the_harness(sandbox: Sandbox) -> None:
    mine = namespaces("self")
    procs = _job_host_processes(sandbox)
    shared = {}
    for pid, (_u, ns, cmd) in procs.items():
        same = [n for n in NAMESPACES if ns.get(n) == mine.get(n)]
        if same:
            shared[pid] = (same, cmd)
    assert not shared, f"job processes share the harness's namespaces: {shared}"


PROBE_PARENT = (
    "import os\n"
    "def f():\n"
    "    visible = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
    "    return {'ppid': os.getppid(), 'pid': os.getpid(), 'visible': visible}\n"
)


def test_each_job_has_its_own_pid_mount_ipc_namespaces(sandbox: Sandbox) -> None:
    """Per job, not per worker.  Every backend: the job's parent is outside its pid namespace
    (``getppid() == 0``: the worker can be neither seen nor signalled).  seccomp: from the host,
    the job's pid, mount and ipc namespaces are not the worker's.  (Two jobs back to back cannot
    be compared by namespace inode: the kernel reuses a freed namespace's number.  What the
    mount and ipc namespaces must achieve is checked by behaviour in test_adv_cross_job.)"""
    res = sandbox.exec(PROBE_PARENT, entry="f")
    assert res.ok, res.error
    assert res.value["ppid"] == 0, f"the job sees its parent in its pid namespace: {res.value}"
    if sandbox.name == "seccomp":
        shared = worker_namespaces_of_job(sandbox, HOLD)
        assert not shared, f"jobs share the worker's namespaces: {shared}"
