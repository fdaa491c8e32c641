"""Audit throughput: `stopbox audit --no-execute` against `bandit -r` on the same tree, cold and
cached, measured in one run on this machine.  Prints lines/second and ratios (``--json`` for a
machine-readable object).  Nothing here is a pass/fail test.

The tree is a slice of the running interpreter's standard library (>= 50k lines by default, so
start-up does not dominate) copied to a temporary directory.  "cold" uses an empty findings
cache; "cached" re-runs with the cache the cold run filled.  Each repeat runs bandit, stopbox
cold and stopbox cached back to back (so both tools see the same load) and the best of the
repeats is reported; the load average is printed because other processes on a shared machine
change wall times.  CLI figures include interpreter start-up; in-process figures call
``stopbox.detectors.audit_paths`` directly (what the engine does), so the cache's own speed shows.
Targets (issue 10): CLI cold >= 2x bandit's wall time; in-process cached >= 50x cold.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

STDLIB_PACKAGES = (
    "json", "email", "logging", "http", "urllib", "xml", "importlib", "asyncio", "concurrent",
    "multiprocessing", "unittest", "tomllib", "sqlite3", "wsgiref", "xmlrpc", "ctypes", "curses",
    "dbm", "html", "zoneinfo", "venv", "lib2to3", "idlelib",
)  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]


def build_tree(dest: Path, min_lines: int) -> int:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    lines = 0
    for package in STDLIB_PACKAGES:
        src = stdlib / package
        if not src.is_dir():
            continue
        shutil.copytree(src, dest / package, ignore=shutil.ignore_patterns("__pycache__", "test*"))
        lines = sum(p.read_text("utf-8", "replace").count("\n") for p in dest.rglob("*.py"))
        if lines >= min_lines:
            return lines
    raise SystemExit(f"only {lines} lines of stdlib found; --min-lines {min_lines} not reached")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def bandit_cmd(tree: Path) -> list[str]:
    venv_bandit = Path(sys.executable).with_name("bandit")
    exe = str(venv_bandit) if venv_bandit.exists() else shutil.which("bandit") or "bandit"
    return [exe, "-r", str(tree), "-q", "-f", "json", "-o", os.devnull]


def stopbox_cmd(tree: Path) -> list[str]:
    return [sys.executable, "-m", "stopbox.harness.cli", "audit", str(tree), "--no-execute",
            "--format", "json", "--out", os.devnull]  # fmt: skip


def in_process(tree: Path, cache_dir: Path) -> dict[str, float]:
    os.environ["STOPBOX_CACHE_DIR"] = str(cache_dir)
    os.environ.pop("STOPBOX_NO_CACHE", None)
    from stopbox.detectors import audit_paths
    from stopbox.detectors._scan import CACHE
    from stopbox.harness.policy import default_policy

    policy = default_policy()
    CACHE.clear_memory()
    start = time.perf_counter()
    audit_paths([tree], policy)
    cold = time.perf_counter() - start
    CACHE.clear_memory()  # disk cache only, as in a new process
    start = time.perf_counter()
    audit_paths([tree], policy)
    disk = time.perf_counter() - start
    start = time.perf_counter()
    audit_paths([tree], policy)
    memory = time.perf_counter() - start
    return {"cold_s": cold, "cached_disk_s": disk, "cached_memory_s": memory}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-lines", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for each CLI timing")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = measure(args.min_lines, args.repeats)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_text(result)
    return 0


def measure(min_lines: int, repeats: int) -> dict[str, Any]:
    """bandit and stopbox (CLI cold and cached, in-process) on one generated tree, interleaved
    so that both tools see the same load; the result with its ratios."""
    with tempfile.TemporaryDirectory(prefix="stopbox-bench-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        lines = build_tree(tree, min_lines)
        files = len(list(tree.rglob("*.py")))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.pop("STOPBOX_NO_CACHE", None)

        load_before = os.getloadavg()
        bandit_runs, cold_runs, cached_runs = [], [], []
        for i in range(repeats):  # interleaved: both tools see the same load
            bandit_runs.append(timed(bandit_cmd(tree), env))
            env["STOPBOX_CACHE_DIR"] = str(Path(tmp) / f"cache-cli-{i}")
            cold_runs.append(timed(stopbox_cmd(tree), env))
            cached_runs.append(timed(stopbox_cmd(tree), env))
        bandit_s, bandit_cpu = min(bandit_runs)
        (cli_cold, cold_cpu), (cli_cached, _) = min(cold_runs), min(cached_runs)
        lib = in_process(tree, Path(tmp) / "cache-lib")
        load_after = os.getloadavg()

    ratios: dict[str, float] = {
        "cli_cold_vs_bandit": bandit_s / cli_cold,
        "cli_cold_cpu_vs_bandit_cpu": bandit_cpu / cold_cpu,
        "cli_cached_vs_bandit": bandit_s / cli_cached,
        "cli_cold_over_cached": cli_cold / cli_cached,
        "in_process_cold_vs_bandit": bandit_s / lib["cold_s"],
        "in_process_cold_over_cached_disk": lib["cold_s"] / lib["cached_disk_s"],
        "in_process_cold_over_cached_memory": lib["cold_s"] / lib["cached_memory_s"],
    }
    return {
        "tree": {"files": files, "lines": lines, "packages": list(STDLIB_PACKAGES)},
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before[0], "after": load_after[0]},
        "bandit": {"seconds": bandit_s, "cpu_s": bandit_cpu, "lines_per_s": lines / bandit_s},
        "stopbox_cli": {
            "cold_s": cli_cold,
            "cold_cpu_s": cold_cpu,
            "cached_s": cli_cached,
            "cold_lines_per_s": lines / cli_cold,
            "cached_lines_per_s": lines / cli_cached,
        },
        "stopbox_in_process": {
            **lib,
            "cold_lines_per_s": lines / lib["cold_s"],
            "cached_disk_lines_per_s": lines / lib["cached_disk_s"],
        },
        "ratios": ratios,
    }


def print_text(result: dict[str, Any]) -> None:
    tree, load, r = result["tree"], result["load_average"], result["ratios"]
    lines, bandit, cli = tree["lines"], result["bandit"], result["stopbox_cli"]
    lib = result["stopbox_in_process"]
    bandit_s, cli_cold, cli_cached = bandit["seconds"], cli["cold_s"], cli["cached_s"]
    print(f"tree: {tree['files']} files, {lines} lines (stdlib slice); {result['cpus']} cpus; "
          f"load average {load['before']:.1f} -> {load['after']:.1f}")  # fmt: skip
    print(f"bandit -r                 {bandit_s:7.2f}s  {lines / bandit_s:9.0f} lines/s"
          f"  (cpu {bandit['cpu_s']:.2f}s)")  # fmt: skip
    print(f"stopbox audit (cold)      {cli_cold:7.2f}s  {lines / cli_cold:9.0f} lines/s"
          f"  (cpu {cli['cold_cpu_s']:.2f}s, all processes)")  # fmt: skip
    print(f"stopbox audit (cached)    {cli_cached:7.2f}s  {lines / cli_cached:9.0f} lines/s")
    print(f"in-process cold           {lib['cold_s']:7.2f}s")
    print(f"in-process cached (disk)  {lib['cached_disk_s']:7.3f}s")
    print(f"in-process cached (mem)   {lib['cached_memory_s']:7.3f}s")
    print(
        f"ratios: cold vs bandit {r['cli_cold_vs_bandit']:.2f}x wall (target >= 2x), "
        f"{r['cli_cold_cpu_vs_bandit_cpu']:.2f}x cpu; "
        f"cached vs bandit {r['cli_cached_vs_bandit']:.1f}x; "
        f"cold/cached CLI {r['cli_cold_over_cached']:.1f}x, "
        f"in-process {r['in_process_cold_over_cached_disk']:.0f}x (disk) "
        f"{r['in_process_cold_over_cached_memory']:.0f}x (memory) (target >= 50x)"
    )


if __name__ == "__main__":
    sys.exit(main())
