"""Who the job is on the host, read from ``/proc`` outside the sandbox while the job runs.

* its host uid is never 0 (every field of ``Uid:``), on every backend;
* every namespace of its host processes differs from the harness's;
* on the seccomp backend (where the job is a host process) it also has its own pid, mount and
  ipc namespaces, not the worker's: jobs must not share them.

Under gVisor and docker the host sees the sandbox's processes (the sentry and, on the ptrace
platform, its stub processes): those are what is checked there.
"""

from __future__ import annotations

from _outside import NAMESPACES, descendants, job_processes, launchers, namespaces

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


PROBE_NS = (
    "import os\n"
    "def f():\n"
    "    out = {}\n"
    "    for n in ('pid', 'mnt', 'ipc'):\n"
    "        try:\n"
    "            out[n] = os.readlink('/proc/self/ns/' + n)\n"
    "        except OSError as exc:\n"
    "            out[n] = 'unreadable: ' + exc.strerror\n"
    "    return out\n"
)


def test_each_job_has_its_own_pid_mount_ipc_namespaces(sandbox: Sandbox) -> None:
    """Per job, not per worker: two jobs back to back on one warm worker are in different pid,
    mount and ipc namespaces (probes, not attacks: both report their own ``/proc/self/ns``); on
    the seccomp backend the host's view of the job must also differ from the worker's."""
    first = sandbox.exec(PROBE_NS, entry="f")
    second = sandbox.exec(PROBE_NS, entry="f")
    assert first.ok and second.ok, (first.error, second.error)
    shared = [n for n in ("pid", "mnt", "ipc") if first.value[n] == second.value[n]]
    # (a namespace the backend's kernel does not show is "unreadable" in both: counted as shared,
    # since nothing shows it is not)
    assert not shared, f"two jobs share the {shared} namespace(s): {first.value}"
    if sandbox.name == "seccomp":
        worker_ns = {n for p in descendants(launchers(sandbox)) for n in namespaces(p).values()}
        for pid, (_u, ns, cmd) in _job_host_processes(sandbox).items():
            same = [n for n in ("pid", "mnt", "ipc") if ns.get(n) in worker_ns]
            assert not same, f"job {pid} shares the worker's {same} namespace(s): {cmd}"
