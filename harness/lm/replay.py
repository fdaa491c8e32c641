"""Cassettes: ``--record CASSETTE`` writes one, ``replay:<cassette>`` plays it back.

A cassette is JSONL, one line per *sample*::

    {"v": 1, "key": "<sha256>", "model": ..., "synthetic": bool, "sample": j,
     "occurrence": k, "text": ..., "label": {...} | null, "prompt_tokens": ..,
     "completion_tokens": .., "cost_usd": .., "excerpt": "<first 80 characters of the message>"}

``key`` is the sha256 of the canonical JSON of ``[model, system, message, temperature, n, sample,
occurrence]`` where ``occurrence`` counts earlier requests with the same ``(model, system, message,
temperature, n)`` in this run (0, 1, 2, ...).  Inside a ``stopbox.harness.lm.lm_request(name)``
block the name is appended to the key and occurrences count per name, so calls made in parallel
(whose order differs from run to run) still replay exactly.  So repeated identical prompts — the
paper's ``batch_prompt(expertise, [message] * 6)`` — replay in the order they were recorded, and
replay does not depend on how messages were grouped into calls.  A call's token counts and cost are
split over its lines (integers: remainders go to the first lines), so a replayed call of the same
shape reports the recorded totals exactly.

A replay miss raises :class:`~harness.errors.CassetteError` naming the cassette, the request hash
and a prompt excerpt; a malformed line names the file and line number.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stopbox.harness.errors import CassetteError
from stopbox.harness.lm._base import (
    LM_WRAPPERS,
    LanguageModel,
    LMResponse,
    OccurrenceCounter,
    current_lm_request,
    lm_backend,
    validate_request,
)

__all__ = ["RecordingLM", "ReplayLM", "request_key", "CASSETTE_VERSION"]

CASSETTE_VERSION = 1
_FIELDS = {"key": str, "model": str, "sample": int, "occurrence": int, "text": str}


def request_key(
    model: str,
    system: str,
    message: str,
    temperature: float,
    n: int,
    sample: int,
    occurrence: int,
    request: str | None = None,
) -> str:
    """The cassette key of one sample (sha256 hex of canonical JSON)."""
    parts: list[object] = [model, system, message, float(temperature), n, sample, occurrence]
    if request is not None:
        parts.append(request)
    blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _excerpt(message: str, limit: int = 80) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


@LM_WRAPPERS.register("record", replace=True)
class RecordingLM(LanguageModel):
    """Wraps any backend; appends every sample it returns to a cassette (JSONL)."""

    def __init__(self, inner: LanguageModel, cassette: Path) -> None:
        self.inner = inner
        self.cassette = Path(cassette)
        self.spec = inner.spec
        self.model = inner.model
        self.is_synthetic = inner.is_synthetic
        self._occurrences = OccurrenceCounter()
        self._lock = threading.Lock()
        try:
            self.cassette.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.cassette.open("a", encoding="utf-8")
        except OSError as exc:
            raise CassetteError(f"{self.cassette}: cannot open for recording: {exc}") from None

    @property
    def label(self) -> str:
        return self.inner.label

    @property
    def priced(self) -> bool:
        return self.inner.priced

    def preflight(self) -> list[str]:
        return self.inner.preflight()

    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        response = self.inner.complete(system, messages, temperature=temperature, n=n)
        total = len(messages) * n
        if len(response.texts) != total:
            raise CassetteError(
                f"{self.cassette}: backend returned {len(response.texts)} texts for {total} samples"
            )
        prompt = _split(response.prompt_tokens, total)
        completion = _split(response.completion_tokens, total)
        request = current_lm_request()
        lines = []
        for i, message in enumerate(messages):
            occurrence = self._occurrences.take(
                self.model, system, message, temperature, n, request
            )
            for j in range(n):
                index = i * n + j
                key = request_key(
                    self.model, system, message, temperature, n, j, occurrence, request
                )
                label = response.labels[index] if index < len(response.labels) else None
                line = {
                    "v": CASSETTE_VERSION,
                    "key": key,
                    "model": response.model or self.model,
                    "synthetic": self.is_synthetic,
                    "sample": j,
                    "occurrence": occurrence,
                    "request": request,
                    "text": response.texts[index],
                    "label": dict(label) if label is not None else None,
                    "prompt_tokens": prompt[index],
                    "completion_tokens": completion[index],
                    "cost_usd": response.cost_usd / total,
                    "excerpt": _excerpt(message),
                    "source": self.inner.label,
                    "priced": response.priced,
                    "requests": response.requests if index == 0 else 0,
                }
                lines.append(json.dumps(line, ensure_ascii=False, sort_keys=True))
        with self._lock:
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()
        return response

    def close(self) -> None:
        with self._lock:
            self._file.close()
        self.inner.close()


class ReplayLM(LanguageModel):
    """Plays back a cassette; deterministic, offline."""

    def __init__(self, cassette: Path) -> None:
        self.cassette = Path(cassette)
        self.spec = f"replay:{cassette}"
        self._entries: dict[str, Mapping[str, Any]] = {}
        models: list[str] = []
        synthetic = False
        try:
            text = self.cassette.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CassetteError(f"{self.cassette}: cassette not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CassetteError(f"{self.cassette}: cannot read cassette: {exc}") from None
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            entry = self._parse_line(raw, number)
            self._entries[entry["key"]] = entry
            if entry["model"] not in models:
                models.append(entry["model"])
            synthetic = synthetic or bool(entry.get("synthetic", False))
        if not self._entries:
            raise CassetteError(f"{self.cassette}: cassette is empty")
        self._models = models
        self.model = models[0]
        self.is_synthetic = synthetic
        first = next(iter(self._entries.values()))
        self.source = str(first.get("source") or self.model)
        """How the recorded backend was named (model and server URL), from the cassette."""
        self._priced = all(bool(e.get("priced", True)) for e in self._entries.values())
        self._occurrences = OccurrenceCounter()

    def _parse_line(self, raw: str, number: int) -> dict[str, Any]:
        where = f"{self.cassette}:{number}"
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CassetteError(f"{where}: malformed cassette line: {exc.msg}") from None
        if not isinstance(entry, dict):
            raise CassetteError(f"{where}: malformed cassette line: expected a JSON object")
        if entry.get("v") != CASSETTE_VERSION:
            raise CassetteError(f"{where}: unsupported cassette version {entry.get('v')!r}")
        for name, kind in _FIELDS.items():
            value = entry.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise CassetteError(
                    f"{where}: malformed cassette line: {name} must be {kind.__name__}"
                )
        for name in ("prompt_tokens", "completion_tokens"):
            value = entry.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise CassetteError(f"{where}: malformed cassette line: {name} must be an int >= 0")
        cost = entry.get("cost_usd", 0.0)
        if not isinstance(cost, int | float) or isinstance(cost, bool) or cost < 0:
            raise CassetteError(f"{where}: malformed cassette line: cost_usd must be a number >= 0")
        request = entry.get("request")
        if request is not None and not isinstance(request, str):
            raise CassetteError(
                f"{where}: malformed cassette line: request must be a string or null"
            )
        label = entry.get("label")
        if label is not None and not isinstance(label, dict):
            raise CassetteError(
                f"{where}: malformed cassette line: label must be an object or null"
            )
        return entry

    @property
    def label(self) -> str:
        kind = "synthetic proposer (not a language model)" if self.is_synthetic else self.source
        return f"replay of {kind} from {self.cassette.name}"

    @property
    def priced(self) -> bool:
        return self._priced

    def _lookup(
        self,
        system: str,
        message: str,
        temperature: float,
        n: int,
        j: int,
        k: int,
        request: str | None,
    ) -> Mapping[str, Any]:
        keys = []
        for model in self._models:
            key = request_key(model, system, message, temperature, n, j, k, request)
            if key in self._entries:
                return self._entries[key]
            keys.append(key)
        named = f", request {request!r}" if request is not None else ""
        raise CassetteError(
            f"{self.cassette}: no recorded response for request {keys[0]} (sample {j},"
            f" occurrence {k}{named}, temperature {temperature:g}, n {n});"
            f" prompt: {_excerpt(message)!r}"
        )

    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        validate_request(messages, temperature, n)
        texts: list[str] = []
        labels: list[Mapping[str, Any]] = []
        prompt_tokens = completion_tokens = 0
        cost = 0.0
        requests = 0
        request = current_lm_request()
        for message in messages:
            occurrence = self._occurrences.take(
                self.model, system, message, temperature, n, request
            )
            for j in range(n):
                entry = self._lookup(system, message, temperature, n, j, occurrence, request)
                texts.append(entry["text"])
                if entry.get("label") is not None:
                    labels.append(entry["label"])
                prompt_tokens += int(entry.get("prompt_tokens", 0))
                completion_tokens += int(entry.get("completion_tokens", 0))
                cost += float(entry.get("cost_usd", 0.0))
                requests += int(entry.get("requests", 1 if j == 0 else 0))
        return LMResponse(
            texts=tuple(texts),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            model=self.model,
            labels=tuple(labels) if len(labels) == len(texts) else (),
            priced=self._priced,
            requests=max(1, requests),
        )


@lm_backend("replay")
def _make_replay(argument: str, seed: int) -> LanguageModel:
    if not argument.strip():
        raise CassetteError("replay: spec needs a cassette path, e.g. replay:run.cassette.jsonl")
    return ReplayLM(Path(argument.strip()))
