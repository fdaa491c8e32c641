"""Sandbox benchmark: warm pooled jobs versus starting a fresh interpreter, per backend.

For each backend (seccomp, gvisor, docker; a backend that cannot start is skipped with its
reason printed) it measures, in one run on this machine:

* ``cold_start_ms``  starting a sandbox with one worker (launcher + interpreter + numpy), after
                     one earlier start in the same process (rootfs planned, page cache warm)
* ``job_ms_p50``     one warm job back to back (the default: pre-fork on): load, one call, close
* ``job_ms_p50_prefork``  the same, jobs spaced 50 ms apart (the standby child surely ready)
* ``job_ms_p50_no_prefork``  a warm job with pre-fork off (STOPBOX_SANDBOX_PREFORK=0): the
                     job's child is forked and confined while the job waits
* ``call_ms_p50``    one call round trip into an already loaded job
* ``jobs_per_s``     throughput of the warm pool (one worker per core, one thread per worker)
* ``steps_ms`` / ``steps_ms_no_prefork``  where a job's time goes, median per step, from the
                     worker's ``--profile`` marks (STOPBOX_SANDBOX_PROFILE=1): ``spawn`` (zygote
                     round trip: fork of the job's first process), ``fork`` (both forks, as the
                     child sees them), ``namespaces``, ``mounts``, ``rlimits_caps``, ``landlock``,
                     ``seccomp`` (filter load), ``child_other`` (the rest until the job's layers
                     event), ``standby_wait``, ``load`` (source to the job, compile, exec),
                     ``call``, ``result_send``, ``cleanup`` (before the closed frame),
                     ``after_result`` (killing, reaping, the cgroup's end: after the harness has
                     the result), ``worker_total``, and ``harness`` (the job's wall time in the
                     harness minus ``worker_total``: framing, pipes, scheduling).  Steps that
                     happen before the job came (pre-fork) are not on its critical path.
* ``baseline_subprocess_ms_p50``  the same work as a fresh ``python -c`` subprocess (no sandbox)
* ``runsc_do_ms_p50``             the same work under ``runsc --network=none do`` (if runsc)
* ``load_avg``       the 1-minute load average before and after the backend's runs (the machine
                     is shared: compare figures of one run, as ratios, and note the load)

    python bench/sandbox.py            # rich tables with the ratios and the steps
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


class _Env:
    """Set environment variables for the workers started inside the block."""

    def __init__(self, **values: str) -> None:
        self.values = values
        self.old: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.old[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, old in self.old.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def spaced_job_ms(name: str, jobs: int, prefork: bool) -> float:
    """A warm job with the worker idle 50 ms before it (so a pre-forked child is surely ready
    when pre-fork is on)."""
    with _Env(STOPBOX_SANDBOX_PREFORK="1" if prefork else "0"):
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


def job_steps(name: str, jobs: int, prefork: bool) -> dict[str, float]:
    """Median time per step of a warm job (the worker's --profile marks), back to back."""
    with _Env(STOPBOX_SANDBOX_PROFILE="1", STOPBOX_SANDBOX_PREFORK="1" if prefork else "0"):
        with get_backend(name, default_policy(), pool_size=1) as sb:
            for _ in range(3):
                check(sb.exec(WORK, entry="f", args=(1000,)).value, name)
            rows: list[dict[str, float]] = []
            for _ in range(jobs):
                t = time.perf_counter()
                res = sb.exec(WORK, entry="f", args=(1000,))
                wall = (time.perf_counter() - t) * 1000
                check(res.value, name)
                prof = [e for e in res.events if e.get("event") == "profile"]
                if not prof:
                    raise RuntimeError(f"{name}: no profile event (worker without --profile?)")
                row = {k: float(v) for k, v in dict(prof[0]["ms"]).items()}
                row["harness"] = wall - row.get("worker_total", wall)
                row["job_wall"] = wall
                rows.append(row)
    keys = sorted({k for row in rows for k in row})
    return {k: round(statistics.median([r[k] for r in rows if k in r]), 3) for k in keys}


def bench_backend(name: str, jobs: int, calls: int, throughput_jobs: int) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)
    policy = default_policy()
    cores = os.cpu_count() or 1
    cold, job_ms, call_ms = warm_figures(name, policy, jobs, calls)
    per_thread = max(1, throughput_jobs // cores)
    elapsed, failed = throughput(name, policy, cores, per_thread)
    prefork_ms = spaced_job_ms(name, jobs, prefork=True)
    with _Env(STOPBOX_SANDBOX_PREFORK="0"):
        with get_backend(name, policy, pool_size=1) as plain:
            for _ in range(3):
                check(plain.exec(WORK, entry="f", args=(1000,)).value, name)
            no_prefork_ms = p50_ms(
                lambda: check(plain.exec(WORK, entry="f", args=(1000,)).value, name), jobs
            )
    steps = job_steps(name, jobs, prefork=True)
    steps_plain = job_steps(name, jobs, prefork=False)
    return {
        "job_ms_p50": round(job_ms, 2),
        "job_ms_p50_prefork": round(prefork_ms, 2),
        "job_ms_p50_no_prefork": round(no_prefork_ms, 2),
        "steps_ms": steps,
        "steps_ms_no_prefork": steps_plain,
        "load_avg": [load_before, round(os.getloadavg()[0], 2)],
        "call_ms_p50": round(call_ms, 3),
        "cold_start_ms": round(cold, 1),
        "jobs_per_s": round((per_thread * cores - failed) / elapsed, 1),
        "failed_jobs": failed,
        "pool_workers": cores,
    }


def warm_figures(name: str, policy: Any, jobs: int, calls: int) -> tuple[float, float, float]:
    """Cold worker start, warm job p50 and call round trip p50 (ms) on a pool of one."""
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
    return cold, job_ms, call_ms


def throughput(name: str, policy: Any, cores: int, per_thread: int) -> tuple[float, int]:
    """Seconds for ``cores`` threads x ``per_thread`` jobs on the default pool, and how many
    jobs did not return the right value (counted, not timed away)."""
    pool = get_backend(name, policy, pool_size=cores)
    try:
        pool.start()
        for _ in range(cores):
            check(pool.exec(WORK, entry="f", args=(1000,)).value, name)
        errors: list[BaseException] = []
        failed: list[str] = []

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
    return elapsed, len(failed)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    results = measure(args, Console(stderr=True))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    out = Console(width=max(120, Console().width))
    out.print(figures_table(results))
    out.print(steps_table(results))
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--jobs", type=int, default=40, help="warm jobs timed per backend")
    parser.add_argument("--calls", type=int, default=300, help="call round trips timed")
    parser.add_argument("--throughput-jobs", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=10)
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, err: Console) -> dict[str, dict[str, Any]]:
    """Every available backend's figures, with the baselines of the same run."""
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
    return results


def figures_table(results: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="stopbox sandbox benchmark (same machine, same run)")
    columns = ("backend", "job p50", "spaced", "no pre-fork", "call p50", "cold start", "jobs/s",
               "python -c", "job speed-up", "runsc do", "job speed-up ", "load")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right")
    for name, row in results.items():
        rdo = row.get("runsc_do_ms_p50")
        table.add_row(
            name,
            f"{row['job_ms_p50']:.1f} ms",
            f"{row['job_ms_p50_prefork']:.1f} ms",
            f"{row['job_ms_p50_no_prefork']:.1f} ms",
            f"{row['call_ms_p50']:.2f} ms",
            f"{row['cold_start_ms']:.0f} ms",
            f"{row['jobs_per_s']:.0f}"
            + (f" ({row['failed_jobs']} failed)" if row["failed_jobs"] else ""),
            f"{row['baseline_subprocess_ms_p50']:.0f} ms",
            f"{row['baseline_subprocess_ms_p50'] / row['job_ms_p50']:.1f}x",
            f"{rdo:.0f} ms" if rdo else "-",
            f"{rdo / row['job_ms_p50']:.1f}x" if rdo else "-",
            "{:.1f}-{:.1f}".format(*row["load_avg"]),
        )
    table.caption = (
        "job: warm pooled job back to back (pre-fork on: load, one call, close); spaced: the same "
        "50 ms apart; no pre-fork: STOPBOX_SANDBOX_PREFORK=0; speed-up: the same work as a fresh "
        "`python -c` / `runsc do` divided by the warm job; load: 1-minute load average"
    )
    return table


def steps_table(results: dict[str, dict[str, Any]]) -> Table:
    steps = Table(title="where a warm job's time goes (median ms per step; --profile marks)")
    steps.add_column("step")
    for name in results:
        steps.add_column(f"{name}", justify="right")
        steps.add_column(f"{name} no pre-fork", justify="right")
    keys = sorted(
        {k for r in results.values() for k in (*r["steps_ms"], *r["steps_ms_no_prefork"])}
    )
    for key in keys:
        cells = []
        for r in results.values():
            for part in ("steps_ms", "steps_ms_no_prefork"):
                v = r[part].get(key)
                cells.append("-" if v is None else f"{v:.2f}")
        steps.add_row(key, *cells)
    return steps


if __name__ == "__main__":
    sys.exit(main())
