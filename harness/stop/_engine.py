"""The trusted engine every STOP step shares: store, sandbox, policy, LM factory, gate, caches.

:class:`Engine` owns what one run needs across improver runs: storing and scanning every program
(results cached by sha256 in the ledger), the policy gate (``block`` or ``record``), trusted task
evaluations cached by key (program sha + task + split + seed + policy hash), LM responses cached by
request key (so a resumed run replays the same texts), event recording, and a thread pool for
parallel evaluations.  Every random choice is derived from stable keys, never from completion
order, so ``--jobs N`` gives the same numbers as ``--jobs 1``.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from stopbox.harness.lm import LanguageModel, get_lm
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox._base import ExecResult, Sandbox
from stopbox.harness.sandbox.helpers import code_blocks
from stopbox.harness.severity import at_least
from stopbox.harness.stop._lm_access import LMAccess, RunBudget
from stopbox.harness.stop._types import (
    EngineStats,
    Inspection,
    RuntimeScanner,
    Scanner,
    TaskLike,
    UtilitySpec,
    default_runtime_scanner,
    default_scanner,
)
from stopbox.harness.store import Evaluation, RunStore, sha256_text, stable_key

if TYPE_CHECKING:
    from stopbox.harness.executor import Executor

__all__ = [
    "Engine",
    "NotCached",
    "Inspection",
    "UtilitySpec",
    "TaskLike",
    "Scanner",
    "RuntimeScanner",
    "EngineStats",
]

log = structlog.get_logger("stopbox.engine")

T = TypeVar("T")
R = TypeVar("R")

_CACHE_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "stopbox_cache_only", default=False
)


class NotCached(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside :meth:`Engine.cache_only` where real work (an improver run, an evaluation)
    would start: the driver then sends the unit of work to its executor instead."""


class Engine(LMAccess):
    """Shared state and trusted operations of one run (see the module docstring)."""

    def __init__(
        self,
        *,
        store: RunStore,
        sandbox: Sandbox,
        policy: Policy,
        lm_spec: str,
        seed: int = 0,
        jobs: int = 1,
        record: Path | None = None,
        scanner: Scanner | None = None,
        runtime_scanner: RuntimeScanner | None = None,
        lm_factory: Callable[[str, int], LanguageModel] | None = None,
        on_progress: Callable[[EngineStats], None] | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self.store, self.sandbox, self.policy = store, sandbox, policy
        self.lm_spec, self.seed, self.jobs = lm_spec, seed, max(1, jobs)
        if self.jobs > 1:  # programs are scanned in parallel threads (CPython gh-106905)
            from stopbox.harness.executor._astlock import install

            install()
        self.record = record
        self._scanner = scanner or default_scanner(policy)
        self._runtime_scanner = runtime_scanner or default_runtime_scanner()
        self._lm_factory = lm_factory or (lambda spec, s: get_lm(spec, seed=s, record=record))
        self.on_progress = on_progress
        self.policy_hash = stable_key(policy.to_dict())[:16]
        self.stats = EngineStats()
        self._inspections: dict[str, Inspection] = {}
        self._labels: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._shared_lm: LanguageModel | None = None
        b = policy.budget
        self.run_budget = RunBudget(b.run_lm_calls, b.run_tokens, b.run_dollars)
        limit = b.max_concurrency if max_concurrency is None else max_concurrency
        self.max_concurrency = limit
        """LM requests in flight at most (0: as many as parallel evaluations)."""
        self._lm_slots = threading.BoundedSemaphore(limit) if limit > 0 else None
        self.fatal: BaseException | None = None
        """A machinery failure (LM backend, sandbox) seen inside an RPC handler; the run stops."""
        self.executor: Executor | None = None
        """Where meta-utility tests and transfer items run as units of work (``--executor
        ray``); None: in this process over :meth:`map` (``--executor local``)."""
        self.sandbox_pool_size = 0
        """Warm workers of the run's sandbox (units on other nodes start a pool this size)."""

    # -- helpers --------------------------------------------------------------------------------

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(x) for x in items]`` over a thread pool of ``jobs``; results in input order."""
        items = list(items)
        if self.jobs == 1 or len(items) <= 1:
            return [fn(x) for x in items]
        # each item runs in a copy of the caller's context: LM deadlines and request names hold
        contexts = [contextvars.copy_context() for _ in items]
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(items))) as pool:
            return list(
                pool.map(lambda cx: cx[0].run(fn, cx[1]), zip(contexts, items, strict=True))
            )

    @contextmanager
    def cache_only(self) -> Iterator[None]:
        """Within the block, an improver run or evaluation not in the ledger raises
        :class:`NotCached` instead of running (how the driver finds finished units)."""
        token = _CACHE_ONLY.set(True)
        try:
            yield
        finally:
            _CACHE_ONLY.reset(token)

    def require_cached(self, what: str) -> None:
        """Called where real work starts; raises :class:`NotCached` inside :meth:`cache_only`."""
        if _CACHE_ONLY.get():
            raise NotCached(what)

    def key_lock(self, key: str) -> threading.Lock:
        """One lock per evaluation key, so parallel callers compute a shared result once."""
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.stats)

    # -- programs, labels and the gate ----------------------------------------------------------

    def register_labels(self, texts: Sequence[str], labels: Sequence[Mapping[str, Any]]) -> None:
        """Remember the ground truth of synthetic samples under the texts' and code blocks' sha."""
        with self._lock:
            for text, label in zip(texts, labels, strict=False):
                for code in [text, *code_blocks(text)]:
                    for variant in {code, code.strip("\n"), code.strip(), code.strip() + "\n"}:
                        self._labels.setdefault(sha256_text(variant), []).append(dict(label))

    def labels_for(self, source: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._labels.get(sha256_text(source)) or self._labels.get(
                sha256_text(source.strip())
            )
            return [dict(x) for x in found[:1]] if found else []

    def inspect(
        self,
        source: str,
        *,
        kind: str,
        iteration: int,
        parent: str | None = None,
        generated: bool = True,
    ) -> Inspection:
        """Store the program, scan it once (cached in the ledger) and apply the policy gate."""
        sha = self.store.add_program(
            source,
            kind=kind,
            iteration=iteration,
            parent=parent,
            labels=self.labels_for(source),
            generated=generated,
        )
        with self._lock:
            cached = self._inspections.get(sha)
        if cached is not None:
            return cached
        with self.key_lock("scan:" + sha):
            if self.store.is_scanned(sha):
                findings = self.store.findings(sha, source="static")
            else:
                findings = [
                    {**f, "source": "static"} for f in self._scanner(source, f"programs/{sha}.py")
                ]
                self.store.add_findings(sha, "static", findings, scan=True)
        block_at = self.policy.gate.block_at
        blocking = tuple(
            sorted(
                {str(f.get("rule_id")) for f in findings if at_least(f.get("severity"), block_at)}
            )
        )
        result = Inspection(
            sha=sha,
            findings=tuple(findings),
            blocking=blocking,
            blocked=bool(blocking) and self.policy.gate.on_blocking == "block",
        )
        with self._lock:
            self._inspections[sha] = result
        return result

    def record_runtime(self, sha: str, results: Iterable[ExecResult]) -> None:
        """Turn worker events/violations of a program's jobs into stored runtime findings."""
        findings: list[dict[str, Any]] = []
        for result in results:
            if result.events or result.violations:
                for f in self._runtime_scanner(result, f"programs/{sha}.py"):
                    findings.append({**f, "source": "runtime"})
        if findings:
            self.store.add_findings(sha, "runtime", findings)

    # -- events ---------------------------------------------------------------------------------

    def event_recorder(
        self, context: str, program: str | None, iteration: int
    ) -> Callable[[str, Mapping[str, Any]], None]:
        """A recorder keyed by (context, sequence): a resumed run re-records nothing twice."""
        counter = iter(range(1 << 62))
        lock = threading.Lock()

        def record(event: str, data: Mapping[str, Any]) -> None:
            with lock:
                seq = next(counter)
            self.store.add_event(
                stable_key(context, seq, event),
                program=program,
                iteration=iteration,
                kind="broker",
                event=event,
                data={"context": context, "seq": seq, **data},
            )

        return record

    # -- trusted evaluation ---------------------------------------------------------------------

    def evaluate_candidate(
        self, source: str, utility: UtilitySpec, *, parent: str | None, iteration: int
    ) -> float:
        """What ``utility(candidate)`` does in the harness: store, scan, gate, evaluate."""
        insp = self.inspect(source, kind=utility.candidate_kind, iteration=iteration, parent=parent)
        if insp.blocked:
            key = stable_key("gate", insp.sha, utility.name, self.policy_hash)
            if self.store.get_evaluation(key) is None:
                self.store.put_evaluation(
                    Evaluation(
                        key=key, kind="blocked", program=insp.sha, task=utility.name,
                        split="-", seed=0, iteration=iteration, value=0.0, output=None,
                        reason="blocked by policy: " + ", ".join(insp.blocking),
                        blocked=True, wall_s=0.0,
                    )
                )  # fmt: skip
            log.info("candidate_blocked", program=insp.sha, rules=list(insp.blocking))
            return 0.0
        return utility.evaluate(source, iteration)

    def task_utility(
        self, task: TaskLike, source: str, *, split: str, seed: int, iteration: int
    ) -> float:
        """Trusted downstream utility of one solution on one split (cached by key)."""
        sha = sha256_text(source)
        key = stable_key("utility", sha, task.name, split, seed, self.policy_hash)
        with self.key_lock(key):
            cached = self.store.get_evaluation(key)
            if cached is not None:
                self.stats.add(cached=1)
                return float(cached.value or 0.0)
            self.require_cached(key)
            insp = self.inspect(source, kind="solution", iteration=iteration, generated=True)
            started = time.monotonic()
            if insp.blocked:
                value, reason, results = 0.0, "blocked by policy: " + ", ".join(insp.blocking), []
            else:
                score = task.evaluate(self.sandbox, source, split=split, seed=seed)
                value = float(score.utility)
                reason = str(getattr(score, "reason", ""))
                results = list(getattr(score, "results", ()) or ())
                final = getattr(score, "final", None)
                self.record_runtime(sha, [final] if final is not None else results)
            wall = time.monotonic() - started
            self.stats.add(evaluations=1, sandbox_s=sum(r.wall_s for r in results))
            log.info("evaluation", key=key, program=sha, task=task.name, split=split, seed=seed,
                     utility=value)  # fmt: skip
            self.store.put_evaluation(
                Evaluation(
                    key=key, kind="utility", program=sha, task=task.name, split=split, seed=seed,
                    iteration=iteration, value=value, output=None, reason=reason,
                    blocked=insp.blocked, wall_s=wall,
                )
            )  # fmt: skip
        self._progress()
        return value

    def with_broker_events(
        self, result: ExecResult, events: Sequence[Mapping[str, Any]]
    ) -> ExecResult:
        """The result with the broker's events added when the worker did not relay them."""
        if any(e.get("kind") == "broker" for e in result.events):
            return result
        return replace(result, events=tuple(result.events) + tuple(dict(e) for e in events))

    def dump_json(self, value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)
