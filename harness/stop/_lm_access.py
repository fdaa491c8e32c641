"""LM access of the engine: one cached, deterministic LM call path for every improver run.

Every uncached call is bounded: by the caller's wall budget (the improver's ``improver_wall_s``,
the run's ``run_wall_s``; :func:`~stopbox.harness.lm._deadline.lm_deadline`), by the run-wide
budget (:class:`RunBudget`: calls, tokens, dollars), and by the number of LM requests in flight
(``--max-concurrency`` / ``budget.max_concurrency``).  A run-wide limit stops the run with its
reason; an improver's wall budget running out mid-call only fails that improver's call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from stopbox.harness.errors import BudgetExceededError, LMError
from stopbox.harness.lm import LanguageModel, LMResponse, lm_request
from stopbox.harness.lm._deadline import DeadlineExceeded, check_deadline, current_deadline
from stopbox.harness.stop._types import EngineStats
from stopbox.harness.store import RunStore, stable_key

__all__ = ["LMAccess", "RunBudget", "RUN_WALL"]

RUN_WALL = "run_wall_s"


class RunBudget:
    """Run-wide LM budget (beside the per-improver ones): calls, tokens, dollars; 0 = no limit."""

    def __init__(self, calls: int = 0, tokens: int = 0, dollars: float = 0) -> None:
        self.calls, self.tokens, self.dollars = calls, tokens, dollars
        self.used_calls = self.used_tokens = 0
        self.used_dollars = 0.0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # pickled into a shared actor (--executor ray)
        with self._lock:
            return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _error(self, what: str) -> BudgetExceededError:
        error = BudgetExceededError(f"run-wide budget exhausted: {what}")
        error.budget = "run"  # type: ignore[attr-defined]
        return error

    def check(self) -> None:
        with self._lock:
            if self.calls and self.used_calls >= self.calls:
                raise self._error(f"run_lm_calls = {self.calls} LM calls")
            if self.tokens and self.used_tokens >= self.tokens:
                raise self._error(f"run_tokens = {self.tokens} tokens")
            if self.dollars and self.used_dollars >= self.dollars:
                raise self._error(f"run_dollars = ${self.dollars:g}")

    def charge(self, response: LMResponse) -> None:
        with self._lock:
            self.used_calls += 1
            self.used_tokens += response.total_tokens
            self.used_dollars += response.cost_usd


class LMAccess:
    """Mixed into :class:`~harness.stop._engine.Engine`, which sets these attributes."""

    store: RunStore
    stats: EngineStats
    lm_spec: str
    seed: int
    record: Path | None
    fatal: BaseException | None
    run_budget: RunBudget
    _lm_slots: threading.BoundedSemaphore | None
    _lm_factory: Callable[[str, int], LanguageModel]
    _shared_lm: LanguageModel | None
    _lock: threading.RLock

    def derive_seed(self, *parts: Any) -> int:
        return int(stable_key(self.seed, *parts)[:8], 16)

    def register_labels(  # pragma: no cover - implemented by Engine
        self, texts: Sequence[str], labels: Sequence[Mapping[str, Any]]
    ) -> None:
        raise NotImplementedError

    def _progress(self) -> None:  # pragma: no cover - implemented by Engine
        raise NotImplementedError

    # -- language model -------------------------------------------------------------------------

    def lm_caller(
        self, context: str, iteration: int
    ) -> Callable[[str, list[str], float, int, int], LMResponse]:
        """LM access for one improver run; responses cached in the ledger by request key.

        The synthetic proposer gets a fresh instance per call, seeded from (context, call index):
        its answers then depend on neither completion order nor what a resumed run replays from
        the ledger.  Other backends (and any recording) share one instance for the run, so a
        cassette's occurrence counts stay consistent between recording and replay.
        """
        lm_seed = self.derive_seed("lm", context)

        def call(
            system: str, messages: list[str], temperature: float, n: int, index: int
        ) -> LMResponse:
            key = stable_key(
                self.lm_spec, lm_seed, context, index, system, messages, temperature, n
            )
            cached = self.store.get_lm_call(key)
            if cached is not None:
                self.stats.add(lm_cached=1)
                response = LMResponse.from_json(cached)
            else:
                started = time.monotonic()
                try:
                    self.check_run_budget()
                    response = self._bounded(
                        self.derive_seed("lm", context, index), system, messages, temperature, n
                    )
                    self.run_budget.charge(response)
                except DeadlineExceeded as exc:
                    if exc.deadline.what.startswith(RUN_WALL):
                        self.fatal = self.fatal or exc
                    raise
                except LMError as exc:
                    self.fatal = self.fatal or exc
                    raise
                self.stats.add(lm_s=time.monotonic() - started, lm_requests=response.requests)
                self.store.put_lm_call(
                    key,
                    context=context,
                    iteration=iteration,
                    system=system,
                    messages=messages,
                    temperature=temperature,
                    n=n,
                    texts=response.texts,
                    labels=response.labels,
                    prompt_tokens=response.prompt_tokens,
                    completion_tokens=response.completion_tokens,
                    cost_usd=response.cost_usd,
                    model=response.model,
                )
                self.stats.add(lm_calls=1)
            if response.labels:
                self.register_labels(response.texts, response.labels)
            self._progress()
            return response

        return call

    def check_run_budget(self) -> None:
        """Stop the run (``fatal``) when a run-wide limit or the run's wall budget is spent."""
        try:
            self.run_budget.check()
            deadline = current_deadline()
            if deadline is not None and deadline.what.startswith(RUN_WALL):
                check_deadline("the run ran out of time")
        except BudgetExceededError as exc:
            self.fatal = self.fatal or exc
            raise

    def _bounded(
        self, seed: int, system: str, messages: list[str], temperature: float, n: int
    ) -> LMResponse:
        """:meth:`_complete` inside the bound on LM requests in flight (waiting is bounded by the
        caller's deadline too)."""
        slots = self._lm_slots
        if slots is None:
            return self._complete(seed, system, messages, temperature, n)
        while not slots.acquire(timeout=0.2):
            check_deadline("waiting for a free LM request slot (--max-concurrency)")
        try:
            check_deadline()
            return self._complete(seed, system, messages, temperature, n)
        finally:
            slots.release()

    def _complete(
        self, seed: int, system: str, messages: list[str], temperature: float, n: int
    ) -> LMResponse:
        with self._lock:
            if self._shared_lm is None:
                self._shared_lm = self._lm_factory(self.lm_spec, self.seed)
            lm = self._shared_lm
        if lm.per_call_instances and self.record is None:
            # a deterministic proposer: a fresh instance seeded from the request (order-free)
            fresh = self._lm_factory(self.lm_spec, seed)
            try:
                return fresh.complete(system, messages, temperature=temperature, n=n)
            finally:
                fresh.close()
        with lm_request(f"{seed:x}"):  # cassettes key by request, not by completion order
            return lm.complete(system, messages, temperature=temperature, n=n)

    def close(self) -> None:
        """Release the shared LM (closes a recording cassette)."""
        with self._lock:
            if self._shared_lm is not None:
                self._shared_lm.close()
                self._shared_lm = None
