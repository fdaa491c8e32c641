"""Benchmark of the STOP engine: an offline ``stopbox run --iterations 3`` (synthetic proposer).

Prints, measured in this one process on this machine:

* ``wall_s``: wall time of the run with ``--jobs`` = cores (target: <= 60 s on 2 cores);
* the split of a sequential (``--jobs 1``) run's wall time into sandboxed user code (per-call
  wall time measured on the trusted side of the pipe, plus improvers' own time), LM wait, and the
  harness (everything else: scanning, ledger, sandbox job start-up, brokering);
* the same with every LM call delayed by ``--latency`` seconds (default 1 s), where the harness
  share should be <= 5%;
* the seed's and the final improver's test meta-utility (an offline 3-iteration run must improve).

Usage: ``python bench/engine.py [--iterations 3] [--policy paper] [--latency 1.0] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stopbox.harness.lm import LanguageModel, LMResponse, get_lm  # noqa: E402
from stopbox.harness.policy import load_policy  # noqa: E402
from stopbox.harness.stop.session import execute_run, run_config  # noqa: E402
from stopbox.harness.store import RunStore  # noqa: E402


class DelayedLM(LanguageModel):
    """Any backend with a fixed latency added to every call (a stand-in for a remote model)."""

    def __init__(self, inner: LanguageModel, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s
        self.spec, self.model, self.is_synthetic = inner.spec, inner.model, inner.is_synthetic

    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        time.sleep(self.delay_s)
        return self.inner.complete(system, messages, temperature=temperature, n=n)

    def close(self) -> None:
        self.inner.close()


def one_run(root: Path, name: str, *, iterations: int, policy_name: str, jobs: int,
            latency: float) -> dict[str, Any]:  # fmt: skip
    policy = load_policy(policy_name)
    lm = get_lm("synthetic")
    config = run_config(
        tasks=["lpn"], iterations=iterations, seed=0, policy=policy, policy_label=policy_name,
        jobs=jobs, lm={"spec": "synthetic", "synthetic": True, "label": lm.label},
    )  # fmt: skip
    store = RunStore(root / name, create=True)
    store.init_run(name, config, "")

    def factory(spec: str, seed: int) -> LanguageModel:
        inner = get_lm(spec, seed=seed)
        return DelayedLM(inner, latency) if latency > 0 else inner

    started = time.monotonic()
    results, stats = execute_run(store, config, policy, lm_factory=factory)
    wall = time.monotonic() - started
    user, lm_wait = stats.sandbox_s, stats.lm_s
    # with jobs > 1 user code and LM waits overlap, so the split is only exact for jobs == 1
    harness = max(0.0, wall - user - lm_wait) if jobs == 1 else float("nan")
    store.close()
    return {
        "jobs": jobs,
        "latency_s": latency,
        "wall_s": round(wall, 2),
        "user_code_s": round(user, 2),
        "lm_wait_s": round(lm_wait, 2),
        "harness_s": round(harness, 2) if jobs == 1 else None,
        "harness_share": round(harness / wall, 4) if wall and jobs == 1 else None,
        "lm_calls": stats.lm_calls,
        "evaluations": stats.evaluations,
        "cache_hits": stats.cached,
        "improver_runs": stats.improver_runs,
        "meta_utility_test": [round(r.meta_utility_test, 4) for r in results],
        "meta_utility_val": [round(r.meta_utility_val, 4) for r in results],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--policy", default="paper")
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import structlog

    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())  # quiet
    with tempfile.TemporaryDirectory(prefix="stopbox-bench-engine-") as tmp:
        root = Path(tmp)
        common = {"iterations": args.iterations, "policy_name": args.policy}
        parallel = one_run(root, "parallel", jobs=args.jobs, latency=0.0, **common)
        sequential = one_run(root, "sequential", jobs=1, latency=0.0, **common)
        latency = one_run(root, "latency", jobs=1, latency=args.latency, **common)
    tests = parallel["meta_utility_test"]
    out = {
        "engine": {
            "iterations": args.iterations,
            "policy": args.policy,
            "wall_s": parallel["wall_s"],
            "wall_target_s": 60,
            "harness_share_offline": sequential["harness_share"],
            "harness_share_with_latency": latency["harness_share"],
            "harness_share_target": 0.05,
            "seed_test_meta_utility": tests[0],
            "final_test_meta_utility": tests[-1],
            "improves": tests[-1] > tests[0],
            "runs": {"parallel": parallel, "sequential": sequential, "latency": latency},
        }
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    e = out["engine"]
    print(f"offline run, {args.iterations} iterations, policy {args.policy}, jobs {args.jobs}: "
          f"{e['wall_s']:.1f} s (target <= 60 s)")  # fmt: skip
    for name, r in e["runs"].items():
        counts = (f"{r['lm_calls']} LM calls, {r['evaluations']} evaluations, "
                  f"{r['cache_hits']} cache hits")  # fmt: skip
        if r["harness_share"] is None:
            print(f"  {name:>10}: wall {r['wall_s']:7.1f} s, jobs {r['jobs']} (user code "
                  f"{r['user_code_s']:.1f} s summed over threads; {counts})")  # fmt: skip
            continue
        print(f"  {name:>10}: wall {r['wall_s']:7.1f} s = user code {r['user_code_s']:6.1f} s + "
              f"LM wait {r['lm_wait_s']:6.1f} s + harness {r['harness_s']:6.1f} s "
              f"(harness share {100 * r['harness_share']:.1f}%; {counts})")  # fmt: skip
    print(f"harness share with {args.latency:g} s LM latency: "
          f"{100 * e['harness_share_with_latency']:.1f}% (target <= 5%)")  # fmt: skip
    print(
        f"test meta-utility: seed {e['seed_test_meta_utility']:.4f} -> final "
        f"{e['final_test_meta_utility']:.4f} ({'improves' if e['improves'] else 'NO gain'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
