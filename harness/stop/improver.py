"""Running one improver: ``improve_algorithm(initial_solution, utility, language_model)`` in one
sandbox job, with the brokered proxies as its arguments.

The improver program is stored and scanned first and gated by the policy.  Whatever goes wrong
(blocked, fails to load, raises, times out, returns something that is not source text) the run is
not ``ok``, its reason is recorded (:func:`failure_kind` names its kind) and ``solution`` is the
initial solution, so the loop can carry an improver over; the meta-utility never scores that
fallback (a failed run scores 0 on its test, see :mod:`stopbox.harness.stop.meta`).  Finished runs
are cached in the ledger by key (improver sha + initial solution sha + utility + context + policy),
so a resumed run does not run them again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from stopbox.harness.broker import Broker, language_model_proxy, utility_proxy
from stopbox.harness.lm import Budget
from stopbox.harness.lm._deadline import lm_deadline
from stopbox.harness.sandbox._base import ExecResult, RpcError, Status
from stopbox.harness.stop._engine import Engine, UtilitySpec
from stopbox.harness.store import Evaluation, sha256_text, stable_key

__all__ = ["ImproverRun", "run_improver", "failure_kind", "FAILURE_KINDS", "ENTRY"]

log = structlog.get_logger("stopbox.improver")
ENTRY = "improve_algorithm"


@dataclass(frozen=True, slots=True)
class ImproverRun:
    solution: str
    """The improved program text (the initial solution on any failure)."""
    improver_sha: str
    solution_sha: str
    ok: bool
    reason: str
    """``"ok"`` or why the initial solution was kept."""
    blocked: bool = False
    cached: bool = False


FAILURE_KINDS = ("blocked", "timed_out", "failed_to_load", "raised", "no_program", "budget")


def failure_kind(reason: str) -> str:
    """The kind of a failed improver run from its recorded reason (``"ok"`` -> ``"ok"``)."""
    if reason == "ok":
        return "ok"
    if reason.startswith("blocked by policy"):
        return "blocked"
    if reason.startswith("improver returned"):
        return "no_program"
    if reason.startswith("improver failed to load"):
        return "failed_to_load"
    head = reason.split(" (", 1)[0]
    if head.endswith((": timeout", ": killed")):
        return "timed_out"
    if "budget" in reason.lower():
        return "budget"
    return "raised"


def _failure(result: ExecResult, what: str) -> str:
    detail = (result.error or "").strip().splitlines()[-1:] or [""]
    return f"{what}: {result.status.value}" + (f" ({detail[0][:300]})" if detail[0] else "")


def run_improver(
    engine: Engine,
    improver_src: str,
    initial_solution: str,
    utility: UtilitySpec,
    *,
    context: str,
    iteration: int,
    output_kind: str = "solution",
) -> ImproverRun:
    """Run ``improver_src`` on ``initial_solution`` in the sandbox; never raises for its faults.

    ``context`` names this run stably (e.g. ``"eval/<improver sha>/lpn/3"``); it seeds the LM and
    keys the cache, so the same context gives the same run.
    """
    engine.check_run_budget()  # a spent run-wide budget stops the run before more work
    insp = engine.inspect(improver_src, kind="improver", iteration=iteration)
    initial_sha = sha256_text(initial_solution)
    key = stable_key("improve", insp.sha, initial_sha, utility.name, context, engine.policy_hash)
    with engine.key_lock(key):
        cached = engine.store.get_evaluation(key)
        if cached is not None and cached.output is not None:
            engine.stats.add(cached=1)
            solution = engine.store.program_source(cached.output)
            return ImproverRun(
                solution, insp.sha, cached.output, cached.reason == "ok", cached.reason,
                cached.blocked, cached=True,
            )  # fmt: skip
        engine.require_cached(key)
        started = time.monotonic()
        if insp.blocked:
            solution, reason = initial_solution, "blocked by policy: " + ", ".join(insp.blocking)
        else:
            solution, reason = _run_in_sandbox(
                engine, improver_src, insp.sha, initial_solution, utility, context, iteration
            )
            if engine.fatal is not None:  # the machinery failed under this run: do not cache it
                raise engine.fatal
        ok = reason == "ok"
        out_sha = engine.store.add_program(
            solution,
            kind=output_kind,
            iteration=iteration,
            parent=insp.sha,
            labels=engine.labels_for(solution),
            generated=solution != initial_solution,
        )
        engine.store.put_evaluation(
            Evaluation(
                key=key, kind="improve", program=insp.sha, task=utility.name, split="train",
                seed=engine.derive_seed("lm", context), iteration=iteration, value=None,
                output=out_sha, reason=reason, blocked=insp.blocked,
                wall_s=time.monotonic() - started,
            )
        )  # fmt: skip
        engine.stats.add(improver_runs=1)
        log.info("improver_run", key=key, improver=insp.sha, context=context, reason=reason)
    if not ok:
        log.info("improver_fallback", improver=insp.sha, context=context, reason=reason)
    return ImproverRun(solution, insp.sha, out_sha, ok, reason, insp.blocked)


def _evaluate(
    engine: Engine, candidate: str, utility: UtilitySpec, parent: str, iteration: int
) -> float:
    try:
        return engine.evaluate_candidate(candidate, utility, parent=parent, iteration=iteration)
    except RpcError:
        raise
    except Exception as exc:  # machinery failure: fails inside the sandbox, then stops the run
        engine.fatal = engine.fatal or exc
        raise


def _run_in_sandbox(
    engine: Engine,
    improver_src: str,
    improver_sha: str,
    initial_solution: str,
    utility: UtilitySpec,
    context: str,
    iteration: int,
) -> tuple[str, str]:
    budget = Budget(engine.policy.budget)
    broker = Broker(
        budget=budget,
        lm_call=engine.lm_caller(context, iteration),
        evaluate=lambda cand: _evaluate(engine, cand, utility, improver_sha, iteration),
        record_event=engine.event_recorder(context, improver_sha, iteration),
    )
    args = [
        initial_solution,
        utility_proxy(utility.description),
        language_model_proxy(budget.policy),
    ]
    timeout = engine.policy.budget.improver_wall_s
    # the wall budget also cuts an LM call in flight (the RPC handler runs while the job waits)
    with lm_deadline(timeout, f"improver_wall_s = {timeout:g} s"):
        job = engine.sandbox.job(improver_src, filename="improver.py", rpc=broker)
        try:
            result = job.load_result
            if job.load_result.ok:
                result = job.call(ENTRY, args, None, timeout)
        finally:
            final = job.close()
    # user code time of the improver itself: its job's wall time minus time spent in the broker
    engine.stats.add(sandbox_s=max(0.0, max(final.wall_s, result.wall_s) - broker.rpc_s))
    engine.record_runtime(improver_sha, [engine.with_broker_events(final, broker.events)])
    if not job.load_result.ok:
        return initial_solution, _failure(job.load_result, "improver failed to load")
    if result.status is not Status.OK:
        return initial_solution, _failure(result, "improver failed")
    value = result.value
    if not isinstance(value, str) or not value.strip():
        return initial_solution, f"improver returned {type(value).__name__}, not program text"
    return value, "ok"
