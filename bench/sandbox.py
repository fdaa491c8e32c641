"""Sandbox benchmark: warm pooled jobs versus starting a fresh interpreter, per backend.

For each backend (seccomp, gvisor, docker; a backend that cannot start is skipped with its
reason printed) it measures, in one run on this machine:

* ``cold_start_ms``  starting a sandbox with one worker (launcher + interpreter + numpy), after
                     one earlier start in the same process (rootfs planned, page cache warm)
* ``job_ms_p50``     one warm job: fork a confined child, load a module, one call, close
* ``job_ms_p50_prefork``  the same with the child forked and confined while the worker was idle
* ``call_ms_p50``    one call round trip into an already loaded job
* ``jobs_per_s``     throughput of the warm pool (one worker per core, one thread per worker)
* ``baseline_subprocess_ms_p50``  the same work as a fresh ``python -c`` subprocess (no sandbox)
* ``runsc_do_ms_p50``             the same work under ``runsc --network=none do`` (if runsc)

    python bench/sandbox.py            # rich table with the ratios
    python bench/sandbox.py --json     # {"<backend>": {"job_ms_p50": .., ...}} on stdout
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from stopbox.harness.errors import StopboxError
from stopbox.harness.policy import default_policy
from stopbox.harness.sandbox import available_backends, get_backend

BACKENDS = ("seccomp", "gvisor", "docker")
WORK = "import numpy as np\n\ndef f(n):\n    return int(np.arange(n).sum())\n"
SCRIPT = WORK + "print(f(1000))\n"
EXPECTED = sum(range(1000))


def p50_ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def check(value: Any, what: str) -> None:
    if value != EXPECTED:
        raise RuntimeError(f"{what}: wrong result {value!r}")


def baseline_subprocess_ms(n: int) -> float:
    def run() -> None:
        out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
        check(int(out.stdout), "python -c")

    return p50_ms(run, n)


def runsc_do_ms(n: int) -> float | None:
    runsc = shutil.which("runsc")
    if runsc is None or os.geteuid() != 0:
        return None
    cwd = tempfile.mkdtemp(prefix="stopbox-bench-")
    try:

        def run() -> None:
            out = subprocess.run(
                [runsc, "--network=none", "do", sys.executable, "-c", SCRIPT],
                capture_output=True,
                text=True,
                cwd=cwd,
            )
            check(int(out.stdout.split()[-1]), "runsc do")

        return p50_ms(run, n)
    finally:
        shutil.rmtree(cwd, ignore_errors=True)


def prefork_job_ms(name: str, jobs: int) -> float:
    """A warm job when the worker keeps the next job's confined child ready
    (STOPBOX_SANDBOX_PREFORK=1): load, one call, result; fork and confinement happen while the
    worker is idle.  Jobs are spaced by the time a job takes, so the standby child is ready."""
    old = os.environ.get("STOPBOX_SANDBOX_PREFORK")
    os.environ["STOPBOX_SANDBOX_PREFORK"] = "1"
    try:
        with get_backend(name, default_policy(), pool_size=1) as sb:
            for _ in range(3):
                check(sb.exec(WORK, entry="f", args=(1000,)).value, name)
            times = []
            for _ in range(jobs):
                time.sleep(0.05)  # an idle worker between jobs, as in a pool with spare workers
                t = time.perf_counter()
                check(sb.exec(WORK, entry="f", args=(1000,)).value, name)
                times.append(time.perf_counter() - t)
            return statistics.median(times) * 1000
    finally:
        if old is None:
            os.environ.pop("STOPBOX_SANDBOX_PREFORK", None)
        else:
            os.environ["STOPBOX_SANDBOX_PREFORK"] = old


def bench_backend(name: str, jobs: int, calls: int, throughput_jobs: int) -> dict[str, float]:
    policy = default_policy()
    cores = os.cpu_count() or 1
    # One throw-away start first: one-off work per harness process (planning or building the
    # root filesystem, page cache) is not what a cold *worker* start costs.
    with get_backend(name, policy, pool_size=1) as first:
        check(first.exec(WORK, entry="f", args=(1000,)).value, name)
    t = time.perf_counter()
    sb = get_backend(name, policy, pool_size=1)
    try:
        sb.start()
        cold = (time.perf_counter() - t) * 1000
        for _ in range(3):  # warm-up: page cache, first fork
            check(sb.exec(WORK, entry="f", args=(1000,)).value, name)

        def one_job() -> None:
            check(sb.exec(WORK, entry="f", args=(1000,)).value, name)

        job_ms = p50_ms(one_job, jobs)
        with sb.job(WORK) as job:
            check(job.call("f", (1000,)).value, name)
            call_ms = p50_ms(lambda: check(job.call("f", (1000,)).value, name), calls)
    finally:
        sb.close()
    pool = get_backend(name, policy, pool_size=cores)
    try:
        pool.start()
        for _ in range(cores):
            check(pool.exec(WORK, entry="f", args=(1000,)).value, name)
        per_thread = max(1, throughput_jobs // cores)
        errors: list[BaseException] = []
        failed: list[str] = []  # jobs that did not return the right value: counted, not timed away

        def worker() -> None:
            try:
                for _ in range(per_thread):
                    res = pool.exec(WORK, entry="f", args=(1000,))
                    if res.value != EXPECTED:
                        failed.append(f"{res.status.value}: {res.error}")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(cores)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t
        if errors:
            raise errors[0]
    finally:
        pool.close()
    prefork_ms = prefork_job_ms(name, jobs)
    return {
        "job_ms_p50": round(job_ms, 2),
        "job_ms_p50_prefork": round(prefork_ms, 2),
        "call_ms_p50": round(call_ms, 3),
        "cold_start_ms": round(cold, 1),
        "jobs_per_s": round((per_thread * cores - len(failed)) / elapsed, 1),
        "failed_jobs": len(failed),
        "pool_workers": cores,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--jobs", type=int, default=40, help="warm jobs timed per backend")
    parser.add_argument("--calls", type=int, default=300, help="call round trips timed")
    parser.add_argument("--throughput-jobs", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=10)
    args = parser.parse_args(argv)
    err = Console(stderr=True)
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    reasons = available_backends()
    results: dict[str, dict[str, Any]] = {}
    with err.status("baseline: fresh python -c subprocess"):
        baseline = baseline_subprocess_ms(args.baseline_runs)
    with err.status("baseline: runsc do"):
        runsc_do = runsc_do_ms(max(3, args.baseline_runs // 2))
    for name in names:
        reason = reasons.get(name, f"unknown backend {name!r}")
        if reason is not None:
            err.print(f"[yellow]skip {name}[/]: {reason}")
            continue
        with err.status(f"{name}: warm jobs, calls, cold start, pool throughput"):
            try:
                row: dict[str, Any] = bench_backend(
                    name, args.jobs, args.calls, args.throughput_jobs
                )
            except StopboxError as exc:
                err.print(f"[yellow]skip {name}[/]: {exc}")
                continue
        row["baseline_subprocess_ms_p50"] = round(baseline, 2)
        if runsc_do is not None:
            row["runsc_do_ms_p50"] = round(runsc_do, 2)
        results[name] = row
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    table = Table(title="stopbox sandbox benchmark (same machine, same run)")
    columns = ("backend", "job p50", "pre-forked", "call p50", "cold start", "jobs/s", "python -c",
               "job speed-up", "runsc do", "job speed-up ")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right")
    for name, row in results.items():
        rdo = row.get("runsc_do_ms_p50")
        table.add_row(
            name,
            f"{row['job_ms_p50']:.1f} ms",
            f"{row['job_ms_p50_prefork']:.1f} ms",
            f"{row['call_ms_p50']:.2f} ms",
            f"{row['cold_start_ms']:.0f} ms",
            f"{row['jobs_per_s']:.0f}"
            + (f" ({row['failed_jobs']} failed)" if row["failed_jobs"] else ""),
            f"{row['baseline_subprocess_ms_p50']:.0f} ms",
            f"{row['baseline_subprocess_ms_p50'] / row['job_ms_p50']:.1f}x",
            f"{rdo:.0f} ms" if rdo else "-",
            f"{rdo / row['job_ms_p50']:.1f}x" if rdo else "-",
        )
    table.caption = (
        "job: warm pooled job (fork, load, one call, close); pre-forked: the same with the job's "
        "confined child made while the worker was idle (STOPBOX_SANDBOX_PREFORK=1); speed-up: the "
        "same work as a fresh `python -c` / `runsc do` divided by the warm job"
    )
    Console(width=max(120, Console().width)).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
