"""Runtime probing of untrusted programs: drive an improver (or a solution) in the sandbox and
turn what it *does* into runtime findings (DESIGN.md §4).

``stopbox audit --execute`` and ``stopbox study bypass --execute`` call :func:`probe_program`.
A file that defines ``improve_algorithm(initial_solution, utility, language_model)`` is loaded
into one sandbox job and called with the brokered proxies (harness/broker.py): the synthetic
LM answers ``language_model``, and a probe ``utility`` scores every candidate deterministically
on the policy's probe task (``gate.probe_task``, ``lpn`` by default; train split, a few
instances) in its own sandbox job.  Budgets are small (:data:`PROBE_LIMITS`).  The runtime
rules then judge the job's events: RUN001 fires when ``utility`` is called with a
``use_sandbox`` other than the literal ``True``, RUN008/RUN009 on tampering with the brokered
objects, RUN010 on denied system calls, and so on.  A file that defines only ``algorithm`` is
driven as a solution (of the task whose seed ``algorithm`` has the same parameters, else the
probe task); any other file runs as a script.

Nothing of the program runs in this process: its source is only parsed with :mod:`ast` to find
its entry point.  A program that hangs ends as a ``timeout`` result, never as a hang here.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog

from stopbox.detectors import Finding, runtime_findings
from stopbox.harness import sandbox as sandboxes
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox import ExecResult, Sandbox, Status
from stopbox.harness.severity import at_least

__all__ = [
    "ProbeResult",
    "PROBE_LIMITS",
    "probe_program",
    "probe_entry",
    "probe_sandbox",
    "solution_task",
]

log = structlog.get_logger("stopbox.probe")

IMPROVER_ENTRY = "improve_algorithm"
SOLUTION_ENTRY = "algorithm"
DEFAULT_PROBE_TASK = "lpn"
PROBE_LIMITS: Mapping[str, float] = {
    "lm_calls": 2,
    "samples_per_call": 3,
    "utility_calls": 6,
    "improver_wall_s": 30.0,
    "instances": 3,
}
"""Upper bounds of a probe run (each is ``min(policy value, this)``): a probe shows behaviour,
it does not optimise anything."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one program did when driven in the sandbox.

    ``exec_result``: the program's own job (load plus the driven call; cumulative events and
    violations, broker events included), None when it could not be started.
    ``runtime_findings``: the runtime rules' findings on that job.
    ``called_utility_unsandboxed``: RUN001 fired (``utility`` was called with a ``use_sandbox``
    other than the literal ``True``).  ``error``: why the probe could not drive the program
    (machinery, unknown task); the program's own failures are ``exec_result.status``.
    """

    exec_result: ExecResult | None
    runtime_findings: list[Finding] = field(default_factory=list)
    called_utility_unsandboxed: bool = False
    error: str | None = None
    entry: str | None = None
    """``improve_algorithm``, ``algorithm`` or None (run as a script)."""
    task: str | None = None
    utility_calls: int = 0
    lm_calls: int = 0
    candidate_findings: list[Finding] = field(default_factory=list)
    """Runtime findings of the candidates the program had scored (each in its own job)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "task": self.task,
            "status": self.exec_result.status.value if self.exec_result is not None else None,
            "called_utility_unsandboxed": self.called_utility_unsandboxed,
            "utility_calls": self.utility_calls,
            "lm_calls": self.lm_calls,
            "error": self.error,
            "candidate_findings": [f.to_json() for f in self.candidate_findings],
        }


def probe_entry(source: str) -> str | None:
    """The entry point a probe drives: ``improve_algorithm`` if the module defines it at top
    level, else ``algorithm``, else None.  Only parses (nothing runs); None when it does not
    parse (then it runs as a script and fails there)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    for entry in (IMPROVER_ENTRY, SOLUTION_ENTRY):
        if entry in names:
            return entry
    return None


def _policy(policy: Policy | None) -> Policy:
    if policy is not None:
        return policy
    from stopbox.harness.policy import default_policy

    return default_policy()


def _params(source: str, name: str) -> tuple[str, ...] | None:
    """Positional parameter names of the top-level function ``name`` (parsing only)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return tuple(a.arg for a in (*node.args.posonlyargs, *node.args.args))
    return None


def solution_task(source: str, default: str) -> str:
    """The task a solution is written for: the task whose seed ``algorithm`` has the same
    parameter names (``default`` first, so lpn wins over parity), else the same number of
    parameters, else ``default``.  Only parses; nothing runs."""
    from stopbox.harness.task_catalog import TASKS_DIR, task_names

    mine = _params(source, SOLUTION_ENTRY)
    if mine is None:
        return default
    names = task_names()
    ordered = [default, *(n for n in names if n != default)] if default in names else names
    seeds: dict[str, tuple[str, ...] | None] = {}
    for name in ordered:
        try:
            seed = (TASKS_DIR / name / "seed_algorithm.py").read_text(encoding="utf-8")
        except OSError:
            continue
        seeds[name] = _params(seed, SOLUTION_ENTRY)
    for name, params in seeds.items():
        if params == mine:
            return name
    for name, params in seeds.items():
        if params is not None and len(params) == len(mine):
            return name
    return default


def _probe_budget(policy: Policy) -> Any:
    b = policy.budget
    return replace(
        b,
        lm_calls=min(b.lm_calls, int(PROBE_LIMITS["lm_calls"])),
        samples_per_call=min(b.samples_per_call, int(PROBE_LIMITS["samples_per_call"])),
        utility_calls=min(b.utility_calls, int(PROBE_LIMITS["utility_calls"])),
        improver_wall_s=min(b.improver_wall_s, float(PROBE_LIMITS["improver_wall_s"])),
    )


def _task_name(policy: Policy, task: str | None) -> str:
    if task:
        return task
    return policy.gate.probe_task or DEFAULT_PROBE_TASK


@contextmanager
def probe_sandbox(policy: Policy | None, backend: str) -> Iterator[Sandbox]:
    """A started sandbox fit for probes (two warm workers: the improver's job waits on its RPC
    while a candidate's job runs).  Reuse it for many :func:`probe_program` calls."""
    policy = _policy(policy)
    size = max(2, int(policy.sandbox.pool_size or 0))
    with sandboxes.started(backend, policy, pool_size=size) as sandbox:
        yield sandbox


def probe_program(
    source: str,
    path: str,
    policy: Policy | None,
    backend: str,
    *,
    task: str | None = None,
    sandbox: Sandbox | None = None,
    seed: int = 0,
) -> ProbeResult:
    """Drive ``source`` in the sandbox and judge what it does (see the module docstring).

    ``sandbox``: an already started sandbox to reuse (from :func:`probe_sandbox`); otherwise
    one is started for this call with ``backend``.  Raises only for usage errors a caller must
    see (an unknown backend, a sandbox that cannot start: fail closed); a probe task that
    cannot be loaded is ``error``.  ``policy`` None is the default policy.
    """
    policy = _policy(policy)
    if sandbox is None:
        with probe_sandbox(policy, backend) as own:
            return probe_program(source, path, policy, backend, task=task, sandbox=own, seed=seed)
    entry = probe_entry(source)
    name = Path(path).name or "program.py"
    if not name.endswith(".py"):
        name += ".py"
    if entry is None:
        result = sandbox.exec(source, filename=name)
        return _finish(result, path, entry=None, task=None)
    task_name = _task_name(policy, task)
    if entry == SOLUTION_ENTRY and task is None:
        task_name = solution_task(source, task_name)
    try:
        from stopbox.harness.tasks import load_task

        probe_task = load_task(task_name)
    except Exception as exc:  # noqa: BLE001 - an unknown or broken task is this probe's error
        return ProbeResult(None, error=f"probe task {task_name!r}: {exc}", entry=entry)
    if entry == SOLUTION_ENTRY:
        return _probe_solution(sandbox, probe_task, source, path, name)
    return _probe_improver(sandbox, probe_task, source, path, name, policy, seed)


def _probe_solution(sandbox: Sandbox, task: Any, source: str, path: str, name: str) -> ProbeResult:
    """Drive ``algorithm`` on a few instances of the probe task (train split)."""
    del name  # the task names the solution's file itself
    score = task.evaluate(
        sandbox, source, split="train", seed=0, n_instances=int(PROBE_LIMITS["instances"])
    )
    result = score.final
    if result is None:  # never started (did not parse): the reason is the result
        result = ExecResult(Status.ERROR, error=score.reason)
    else:
        result = replace(result, value=score.utility, error=result.error or score.reason)
    return _finish(result, path, entry=SOLUTION_ENTRY, task=task.name)


class _ProbeLM:
    """The synthetic proposer behind ``language_model``: a fresh, seeded instance per call, so
    a probe's answers depend only on (seed, call index, prompt)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.calls = 0

    def __call__(
        self, system: str, messages: list[str], temperature: float, n: int, index: int
    ) -> Any:
        from stopbox.harness.lm import get_lm

        self.calls += 1
        lm = get_lm("synthetic", seed=self.seed * 1009 + index)
        try:
            return lm.complete(system, messages, temperature=temperature, n=n)
        finally:
            lm.close()


def _probe_improver(
    sandbox: Sandbox, task: Any, source: str, path: str, name: str, policy: Policy, seed: int
) -> ProbeResult:
    from stopbox.detectors import scan
    from stopbox.harness.broker import Broker, language_model_proxy, utility_proxy
    from stopbox.harness.lm import Budget

    budget_policy = _probe_budget(policy)
    budget = Budget(budget_policy)
    candidate_findings: list[Finding] = []
    lock = threading.Lock()

    def evaluate(candidate: str) -> float:
        # the probe utility: gate the candidate like the engine does, then score it in its
        # own sandbox job on a few train instances of the probe task
        found = scan(candidate, "candidate.py", policy)
        blocking = [f for f in found if at_least(f.severity, policy.gate.block_at)]
        if blocking and policy.gate.on_blocking == "block":
            return 0.0
        score = task.evaluate(
            sandbox, candidate, split="train", seed=seed, n_instances=int(PROBE_LIMITS["instances"])
        )
        if score.final is not None:
            found = runtime_findings(score.final, "candidate.py")
            with lock:
                candidate_findings.extend(found)
        return float(score.utility)

    broker = Broker(budget=budget, lm_call=_ProbeLM(seed), evaluate=evaluate,
                    record_event=lambda event, data: None)  # fmt: skip
    args = [
        task.seed_algorithm,
        utility_proxy(task.utility_str),
        language_model_proxy(budget_policy),
    ]
    job = sandbox.job(source, filename=name, rpc=broker)
    call: ExecResult | None = None
    try:
        if job.load_result.ok:
            call = job.call(IMPROVER_ENTRY, args, None, budget_policy.improver_wall_s)
    finally:
        final = job.close()
    result = _merge(job.load_result, call, final, broker.events)
    utility_calls = sum(1 for e in broker.events if e.get("event") == "use_sandbox")
    out = _finish(result, path, entry=IMPROVER_ENTRY, task=task.name)
    return replace(
        out,
        utility_calls=utility_calls,
        lm_calls=budget_policy.lm_calls - max(0, int(budget.lm_calls_remaining)),
        candidate_findings=candidate_findings,
    )


def _merge(
    load: ExecResult,
    call: ExecResult | None,
    final: ExecResult,
    broker_events: list[dict[str, Any]],
) -> ExecResult:
    """One result for the program: the call's status and value (the load's when it did not
    load), the job's cumulative events and violations, plus the broker's events when the
    worker did not relay them."""
    head = call if call is not None else load
    events = tuple(final.events) or tuple(head.events)
    if not any(e.get("kind") == "broker" for e in events):
        events = events + tuple(dict(e) for e in broker_events)
    violations = tuple(final.violations) or tuple(head.violations)
    return replace(
        head,
        stdout=final.stdout or head.stdout,
        stderr=final.stderr or head.stderr,
        wall_s=max(final.wall_s, head.wall_s),
        cpu_s=max(final.cpu_s, head.cpu_s),
        max_rss_mb=max(final.max_rss_mb, head.max_rss_mb),
        events=events,
        violations=violations,
        truncated=head.truncated or final.truncated,
    )


def _finish(result: ExecResult, path: str, *, entry: str | None, task: str | None) -> ProbeResult:
    found = runtime_findings(result, path)
    unsandboxed = any(f.rule_id == "RUN001" for f in found)
    log.info("probe", path=path, entry=entry, status=result.status.value, findings=len(found),
             unsandboxed=unsandboxed)  # fmt: skip
    return ProbeResult(
        exec_result=result,
        runtime_findings=found,
        called_utility_unsandboxed=unsandboxed,
        entry=entry,
        task=task,
    )
