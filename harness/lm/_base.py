"""The language-model interface, its response value, and the backend registry.

Semantics of :meth:`LanguageModel.complete` (how the broker maps the paper's interface):

* ``messages`` are *independent prompts* (each is one user message under the same ``system``
  message), not a conversation.
* ``n`` samples are drawn for *each* message; ``texts`` holds ``len(messages) * n`` strings in
  message-major order: ``texts[i * n + j]`` is sample ``j`` of message ``i``.
* the paper's ``language_model.batch_prompt(expertise, messages, temperature)`` (one response per
  message) is ``complete(expertise, messages, temperature=t, n=1)``;
  ``language_model.prompt(expertise, message, n_responses, temperature)`` is
  ``complete(expertise, [message], temperature=t, n=n_responses)``.

Backends register themselves by spec prefix with :func:`lm_backend`; :func:`get_lm` parses a spec
(``openai:<model>``, ``replay:<cassette>``, ``synthetic`` or ``synthetic:<key=value,...>``) and,
with ``record=PATH``, wraps the backend so every response is appended to a cassette.
"""

from __future__ import annotations

import abc
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stopbox.harness.errors import LMError, UsageError
from stopbox.harness.registry import Registry

__all__ = [
    "LMResponse",
    "LanguageModel",
    "LMFactory",
    "lm_backend",
    "LM_BACKENDS",
    "LM_WRAPPERS",
    "get_lm",
    "lm_backend_names",
    "default_lm_spec",
    "DEFAULT_OPENAI_MODEL",
    "validate_request",
    "SpecOptions",
    "OccurrenceCounter",
    "lm_request",
    "current_lm_request",
]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
MAX_TEMPERATURE = 2.0


@dataclass(frozen=True, slots=True)
class LMResponse:
    """What one :meth:`LanguageModel.complete` call returned (one text per sample).

    ``labels`` is empty for real language models; the synthetic backend gives one dict per sample
    with its ground truth: ``{"kind": "improver"|"solution", "strategy"|"quality": ...,
    "injected": [category, ...], "attack": "<attack id>"|None}``.
    """

    texts: tuple[str, ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    labels: tuple[Mapping[str, Any], ...] = ()
    priced: bool = True
    """False when the model has no known price: ``cost_usd`` is then 0 and means *unpriced*."""
    requests: int = 1
    """HTTP requests the backend made for this call (more than one when a server ignores ``n``)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "texts": list(self.texts),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "model": self.model,
            "labels": [dict(label) for label in self.labels],
            "priced": self.priced,
            "requests": self.requests,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LMResponse:
        """The inverse of :meth:`to_json` (the one way a stored response is rebuilt); keys an older
        store did not keep (``priced``, ``requests``, ``labels``) take their defaults."""
        return cls(
            texts=tuple(str(t) for t in data["texts"]),
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            model=str(data.get("model", "")),
            labels=tuple(dict(label) for label in data.get("labels", ())),
            priced=bool(data.get("priced", True)),
            requests=int(data.get("requests", 1)),
        )


class LanguageModel(abc.ABC):
    """A language-model backend.  Lives only in the trusted harness process."""

    spec: str = ""
    """The spec string it was made from (``openai:gpt-4o-mini``, ``synthetic``, ...)."""
    model: str = ""
    """The model name recorded in responses, cassettes and reports."""
    is_synthetic: bool = False
    """True when no language model is involved (the synthetic proposer, or a replay of it)."""
    per_call_instances: bool = False
    """True for deterministic proposers whose answers depend only on their seed: callers make a
    fresh instance per call, seeded from the request, so answers do not depend on call order."""

    @property
    def label(self) -> str:
        """How reports name this backend."""
        return self.model or self.spec

    @abc.abstractmethod
    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        """``n`` samples for each message, message-major (see the module docstring)."""

    @property
    def priced(self) -> bool:
        """Whether a dollar figure can be computed for this model (False: *unpriced*)."""
        return True

    def preflight(self) -> list[str]:
        """Check the backend before any work (server reachable, model served); return warnings.

        Raises :class:`~harness.errors.LMError` with a clear message when the backend cannot work.
        """
        return []

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release resources (HTTP clients, open cassette files)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec!r}>"


def validate_request(messages: Sequence[str], temperature: float, n: int) -> None:
    """Reject malformed requests before any backend work (shared by every backend)."""
    if isinstance(messages, str) or not isinstance(messages, Sequence):
        raise LMError(f"messages must be a list of strings, got {type(messages).__name__}")
    if not messages:
        raise LMError("messages must not be empty")
    if not all(isinstance(m, str) for m in messages):
        raise LMError("every message must be a string")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise LMError(f"n must be an integer >= 1, got {n!r}")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0.0 <= float(temperature) <= MAX_TEMPERATURE
    ):
        raise LMError(
            f"temperature must be a number in [0, {MAX_TEMPERATURE}], got {temperature!r}"
        )


_REQUEST: ContextVar[str | None] = ContextVar("stopbox_lm_request", default=None)


@contextmanager
def lm_request(key: str) -> Iterator[None]:
    """Name the LM requests made inside the block stably (e.g. the engine's context + call index).

    Cassettes then key by this name instead of the run-wide order of identical prompts, so a
    recording made with parallel jobs replays exactly whatever order the calls come in.  Backends
    that need no name ignore it.  Context-local (per thread / task).
    """
    token = _REQUEST.set(str(key))
    try:
        yield
    finally:
        _REQUEST.reset(token)


def current_lm_request() -> str | None:
    """The name set by the innermost :func:`lm_request` block, if any."""
    return _REQUEST.get()


LMFactory = Callable[[str, int], LanguageModel]
"""``factory(argument_after_prefix, seed) -> LanguageModel``."""

LM_BACKENDS: Registry[LMFactory] = Registry(
    "LM backend",
    builtins=(  # imported on the first lookup; they register themselves with @lm_backend
        "stopbox.harness.lm.openai_backend",
        "stopbox.harness.lm.replay",
        "stopbox.harness.lm.synthetic",
    ),
)


LM_WRAPPERS: Registry[Callable[[LanguageModel, Path], LanguageModel]] = Registry(
    "LM wrapper", builtins=("stopbox.harness.lm.replay",)
)
"""``record``: ``wrapper(lm, cassette) -> LanguageModel`` appending every response."""


def lm_backend(prefix: str) -> Callable[[LMFactory], LMFactory]:
    """Register a backend factory for specs ``<prefix>`` and ``<prefix>:<argument>``."""
    return LM_BACKENDS.register(prefix, replace=True)


def lm_backend_names() -> list[str]:
    return LM_BACKENDS.names()


def get_lm(spec: str, *, seed: int = 0, record: Path | None = None) -> LanguageModel:
    """Make the backend a spec names; with ``record``, append every response to that cassette."""
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError("empty LM spec; expected openai:<model>, replay:<cassette> or synthetic")
    prefix, _, argument = spec.strip().partition(":")
    if prefix not in LM_BACKENDS:
        raise UsageError(
            f"unknown LM spec {spec!r}; expected one of: "
            + ", ".join(f"{name}:..." if name != "synthetic" else name for name in LM_BACKENDS)
        )
    factory = LM_BACKENDS.get(prefix)
    lm = factory(argument, seed)
    lm.spec = spec.strip()
    if record is not None:
        lm = LM_WRAPPERS.get("record")(lm, Path(record))
    return lm


def default_lm_spec(env: Mapping[str, str] | None = None) -> str:
    """``openai:<model>`` with OPENAI_API_KEY set (model: STOPBOX_LM_MODEL), else ``synthetic``."""
    env = os.environ if env is None else env
    if env.get("OPENAI_API_KEY"):
        return f"openai:{env.get('STOPBOX_LM_MODEL') or DEFAULT_OPENAI_MODEL}"
    return "synthetic"


@dataclass(frozen=True, slots=True)
class SpecOptions:
    """``key=value`` options of a spec, parsed once (``a=1,b=x`` or ``a=1&b=x``)."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, *, spec: str, allowed: Sequence[str]) -> SpecOptions:
        values: dict[str, str] = {}
        for part in text.replace("&", ",").split(","):
            if not part.strip():
                continue
            key, eq, value = part.partition("=")
            key = key.strip()
            if not eq or key not in allowed:
                raise UsageError(
                    f"LM spec {spec!r}: bad option {part.strip()!r}; allowed: "
                    + ", ".join(f"{a}=..." for a in allowed)
                )
            values[key] = value.strip()
        return cls(values)

    def number(self, key: str, default: float, *, spec: str, lo: float, hi: float) -> float:
        if key not in self.values:
            return default
        try:
            value = float(self.values[key])
        except ValueError:
            raise UsageError(f"LM spec {spec!r}: {key} must be a number") from None
        if not lo <= value <= hi:
            raise UsageError(f"LM spec {spec!r}: {key} must be in [{lo}, {hi}], got {value}")
        return value


class OccurrenceCounter:
    """Per-run counters of identical requests (thread-safe): 0 for the first, then 1, 2, ..."""

    def __init__(self) -> None:
        self._seen: Counter[tuple[str, str, str, float, int, str | None]] = Counter()
        self._lock = threading.Lock()

    def take(
        self,
        model: str,
        system: str,
        message: str,
        temperature: float,
        n: int,
        request: str | None = None,
    ) -> int:
        with self._lock:
            ident = (model, system, message, float(temperature), n, request)
            k = self._seen[ident]
            self._seen[ident] = k + 1
            return k
