"""Scale-out benchmark: a bypass study against a slow LM, local vs Ray (issue 14).

The LM is the synthetic proposer behind an OpenAI-compatible server on 127.0.0.1
(:class:`stopbox.harness.lm.testing.FakeOpenAIServer`) that waits ``--latency`` seconds (1 s)
before every answer and makes every sample's program distinct (a nonce comment inside the code
block, with a token of this run), so no findings cache hides the cost of inspecting an attempt;
``STOPBOX_NO_CACHE=1`` keeps the disk cache out too.  The study goes
through the real ``openai`` client and real HTTP, as ``stopbox study bypass --lm openai:...``.

Configurations, measured one after the other in one run of this script:

* ``local --jobs 1``: one LM request in flight;
* ``local --jobs 8``: eight worker processes, eight requests in flight;
* ``ray, 2 nodes``: a head and a second node (``--num-cpus 1`` each, own network namespace, see
  :mod:`stopbox.harness.executor.cluster`), ``--max-concurrency`` units (= LM requests) in flight
  (64 by default); the server runs in the same namespace.

Printed per configuration: attempts, wall time of the command (start-up included), attempts/s
over the wall time and in steady state (first to last ledger write), and the LM-bound ceiling
``in_flight * samples_per_call / latency``.  ``local --jobs 1`` runs ``--jobs1-attempts`` (250)
attempts unless ``--full`` (its rate is the same, LM-bound, and 2,000 would take ~400 s).
Also printed: the CPU time to inspect one distinct attempt (every detector rule), measured here,
and the ceiling it sets (cores / that time) — on 2 cores it is below the issue's target.
Target (issue 14): >= 150 attempts/s for Ray with 64 in flight on this 2-core machine.

Usage: ``python bench/scale.py [--attempts 2000] [--latency 1] [--in-flight 64] [--full]
[--skip-local] [--json]``; ``python bench/scale.py serve --latency 1`` runs only the server
(prints its base URL; stops when its standard input closes).  Ray runs need root.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STOPBOX = str(Path(sys.executable).parent / "stopbox")
MODEL = "bench-slow-synthetic"
API_KEY = "bench-key"
SAMPLES_PER_CALL = 5


# --------------------------------------------------------------------------- the slow LM server


RUN_TOKEN = uuid.uuid4().hex[:12]
"""Part of every nonce: programs are distinct across runs too, so no findings cache (in memory or
on disk) can answer for them."""


def _distinct(texts: Sequence[str], counter: Callable[[], int]) -> list[str]:
    """Every sample's program made unique: a nonce comment just before its closing fence."""
    out = []
    for text in texts:
        head, fence, tail = text.rpartition("```")
        nonce = f"# bench nonce {RUN_TOKEN}-{counter()}\n"
        out.append(f"{head}{nonce}{fence}{tail}" if fence else f"{text}\n{nonce}")
    return out


def serve(latency: float) -> int:
    """Run the slow synthetic server until stdin closes; print its base URL first."""
    from stopbox.harness.lm import get_lm
    from stopbox.harness.lm.testing import FakeOpenAIServer, RecordedRequest

    lm = get_lm("synthetic:red_team_rate=0.05", seed=0)
    lock = threading.Lock()
    numbers = itertools.count()

    def counter() -> int:
        with lock:
            return next(numbers)

    def respond(request: RecordedRequest) -> list[str]:
        user = request.user_messages
        response = lm.complete(
            request.system_message or "",
            [user[-1] if user else ""],
            temperature=float(request.body.get("temperature", 1.0)),
            n=int(request.body.get("n") or 1),
        )
        return _distinct(response.texts, counter)

    server = FakeOpenAIServer(responder=respond, delay_s=latency, api_key=API_KEY, model=MODEL)
    with server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # until the parent closes the pipe
    return 0


class _Server:
    """``bench/scale.py serve`` as a child process (optionally inside a namespace)."""

    def __init__(self, latency: float, wrap: Callable[[list[str]], list[str]] = lambda a: a):
        argv = wrap([sys.executable, __file__, "serve", "--latency", str(latency)])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"the slow LM server did not start ({self.base_url!r})")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------- one measurement


def _ledger_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def measure(
    label: str,
    attempts: int,
    extra: list[str],
    env: dict[str, str],
    wrap: Callable[[list[str]], list[str]],
    in_flight: int,
    latency: float,
) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="stopbox-scale-")) / "study"
    argv = wrap(
        [STOPBOX, "study", "bypass", "--lm", f"openai:{MODEL}", "--prompt", "plain",
         "--samples", str(attempts), "--samples-per-call", str(SAMPLES_PER_CALL),
         "--out", str(out), *extra]
    )  # fmt: skip
    calls = -(-attempts // SAMPLES_PER_CALL)
    started = time.monotonic()
    proc = subprocess.Popen(["nice", "-n", "5", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    first: float | None = None
    first_lines = seen = 0
    last = started
    while proc.poll() is None:
        lines = _ledger_lines(out / "attempts.jsonl")
        now = time.monotonic()
        if lines and first is None:
            first, first_lines = now, lines
        if lines != seen:
            seen, last = lines, now
        time.sleep(0.02)
    wall = time.monotonic() - started
    _, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{label}: stopbox exited {proc.returncode}:\n{stderr[-2000:]}")
    study = json.loads((out / "study.json").read_text())
    done = study["prompts"]["plain"]["samples"]
    executor = json.loads((out / "executor.json").read_text())
    shutil.rmtree(out.parent, ignore_errors=True)  # the study's files are not the result
    steady = None
    if first is not None and last > first and seen > first_lines:
        steady = round((seen - first_lines) * SAMPLES_PER_CALL / (last - first), 1)
    return {
        "config": label,
        "attempts": done,
        "wall_s": round(wall, 2),
        "attempts_per_s": round(done / wall, 1),
        "steady_attempts_per_s": steady,
        "calls": calls,
        "ceiling_attempts_per_s": round(in_flight * SAMPLES_PER_CALL / latency, 1),
        "per_node": executor.get("per_node", {}),
    }


def scan_cpu_ms(samples: int = 40) -> float:
    """CPU milliseconds to inspect one distinct attempt (extract + every detector rule), in this
    process: what bounds attempts/s once the LM is not the limit (cores / this)."""
    from stopbox import detectors
    from stopbox.harness.lm import get_lm
    from stopbox.harness.policy import load_policy
    from stopbox.harness.stop.study import extract_program
    from stopbox.harness.stop.study_prompt import EXPERTISE, TEMPERATURE, study_message

    lm = get_lm("synthetic:red_team_rate=0.05", seed=1)
    policy = load_policy(None)
    texts = lm.complete(EXPERTISE, [study_message("plain")], temperature=TEMPERATURE, n=samples)
    programs = [extract_program(t) for t in _distinct(texts.texts, itertools.count().__next__)]
    detectors.scan(programs[0], "warm.py", policy)  # rule registry loaded once
    started = time.process_time()
    for i, program in enumerate(programs[1:]):
        detectors.scan(program, f"attempt-{i}.py", policy)
    return 1000 * (time.process_time() - started) / (len(programs) - 1)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=("bench", "serve"))
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--jobs1-attempts", type=int, default=250)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--full", action="store_true", help="2,000 attempts for --jobs 1 too")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def _base_env() -> dict[str, str]:
    """The environment of every measured run: no findings cache on disk (every scan is paid
    for), no outside Ray cluster, the fake server's API key."""
    os.environ["STOPBOX_NO_CACHE"] = "1"
    base_env = dict(os.environ)
    base_env.pop("RAY_ADDRESS", None)
    base_env.setdefault("STOPBOX_CACHE", str(ROOT / ".stopbox-cache"))
    base_env["OPENAI_API_KEY"] = API_KEY
    return base_env


def _plain(a: list[str]) -> list[str]:
    return a


def _local_rows(args: argparse.Namespace, base_env: dict[str, str]) -> list[dict[str, Any]]:
    """``--jobs 1`` and ``--jobs 8`` on this machine, against one fake server."""
    server = _Server(args.latency)
    try:
        env = {**base_env, "OPENAI_BASE_URL": server.base_url}
        n1 = args.attempts if args.full else min(args.attempts, args.jobs1_attempts)
        return [
            measure("local --jobs 1", n1, ["--jobs", "1"], env, _plain, 1, args.latency),
            measure("local --jobs 8", args.attempts, ["--jobs", "8"], env, _plain, 8,
                    args.latency),
        ]  # fmt: skip
    finally:
        server.close()


def _ray_row(args: argparse.Namespace, base_env: dict[str, str]) -> dict[str, Any]:
    """The Ray executor on a private 2-node cluster on this machine."""
    from stopbox.harness.executor.cluster import LocalRayCluster

    with LocalRayCluster(nodes=2, num_cpus=1) as cluster:
        server = _Server(args.latency, cluster.command)
        try:
            env = cluster.env({**base_env, "OPENAI_BASE_URL": server.base_url})
            extra = ["--executor", "ray", "--ray-address", cluster.address]
            if args.in_flight != 64:
                extra += ["--max-concurrency", str(args.in_flight)]
            return measure(f"ray, 2 nodes, {args.in_flight} in flight", args.attempts,
                           extra, env, cluster.command, args.in_flight,
                           args.latency)  # fmt: skip
        finally:
            server.close()


def _print_text(
    args: argparse.Namespace, rows: list[dict[str, Any]], cpu_ms: float, cores: int,
    cpu_ceiling: float,
) -> None:  # fmt: skip
    print(f"bypass study, synthetic LM behind HTTP, {args.latency:g} s per call, "
          f"{SAMPLES_PER_CALL} samples per call, every attempt distinct, "
          "no findings cache")  # fmt: skip
    head = f"{'config':34} {'attempts':>8} {'wall s':>8} {'att/s':>7} {'steady':>7} {'ceiling':>8}"
    print(head)
    for r in rows:
        steady = "-" if r["steady_attempts_per_s"] is None else f"{r['steady_attempts_per_s']:.1f}"
        cells = f"{r['attempts']:>8} {r['wall_s']:>8.1f} {r['attempts_per_s']:>7.1f} {steady:>7}"
        print(f"{r['config']:34} {cells} {r['ceiling_attempts_per_s']:>8.1f}")
    print(f"inspecting one distinct attempt: {cpu_ms:.1f} ms CPU -> at most {cpu_ceiling:.0f} "
          f"attempts/s on all {cores} cores of this machine, whatever the LM (load now: "
          f"{os.getloadavg()[0]:.1f})")  # fmt: skip
    base = next((r for r in rows if r["config"] == "local --jobs 1"), None)
    if base:
        for r in rows[1:]:
            ratio = r["attempts_per_s"] / base["attempts_per_s"]
            print(f"{r['config']}: {ratio:.1f}x local --jobs 1 (attempts/s over wall time)")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.mode == "serve":
        return serve(args.latency)
    base_env = _base_env()
    rows: list[dict[str, Any]] = []
    if not args.skip_local:
        rows += _local_rows(args, base_env)
    if not args.skip_ray:
        rows.append(_ray_row(args, base_env))
    cpu_ms = scan_cpu_ms()
    cores = os.cpu_count() or 1
    cpu_ceiling = round(cores * 1000 / cpu_ms, 1)
    if args.json:
        print(json.dumps({"rows": rows, "scan_cpu_ms": round(cpu_ms, 1),
                          "cpu_ceiling_attempts_per_s": cpu_ceiling}, indent=2))  # fmt: skip
        return 0
    _print_text(args, rows, cpu_ms, cores, cpu_ceiling)
    return 0


if __name__ == "__main__":
    sys.exit(main())
