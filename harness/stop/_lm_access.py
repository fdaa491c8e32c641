"""LM access of the engine: one cached, deterministic LM call path for every improver run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from stopbox.harness.errors import LMError
from stopbox.harness.lm import LanguageModel, LMResponse, lm_request
from stopbox.harness.stop._types import EngineStats
from stopbox.harness.store import RunStore, stable_key

__all__ = ["LMAccess"]


class LMAccess:
    """Mixed into :class:`~harness.stop._engine.Engine`, which sets these attributes."""

    store: RunStore
    stats: EngineStats
    lm_spec: str
    seed: int
    record: Path | None
    fatal: BaseException | None
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
                response = LMResponse(
                    texts=tuple(cached["texts"]),
                    prompt_tokens=int(cached["prompt_tokens"]),
                    completion_tokens=int(cached["completion_tokens"]),
                    cost_usd=float(cached["cost_usd"]),
                    model=str(cached["model"]),
                    labels=tuple(cached["labels"]),
                )
            else:
                started = time.monotonic()
                try:
                    response = self._complete(
                        self.derive_seed("lm", context, index), system, messages, temperature, n
                    )
                except LMError as exc:
                    self.fatal = self.fatal or exc
                    raise
                self.stats.add(lm_s=time.monotonic() - started)
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

    def _complete(
        self, seed: int, system: str, messages: list[str], temperature: float, n: int
    ) -> LMResponse:
        if self.lm_spec.startswith("synthetic") and self.record is None:
            lm = self._lm_factory(self.lm_spec, seed)
            try:
                return lm.complete(system, messages, temperature=temperature, n=n)
            finally:
                lm.close()
        with self._lock:
            if self._shared_lm is None:
                self._shared_lm = self._lm_factory(self.lm_spec, self.seed)
            lm = self._shared_lm
        with lm_request(f"{seed:x}"):  # cassettes key by request, not by completion order
            return lm.complete(system, messages, temperature=temperature, n=n)

    def close(self) -> None:
        """Release the shared LM (closes a recording cassette)."""
        with self._lock:
            if self._shared_lm is not None:
                self._shared_lm.close()
                self._shared_lm = None
