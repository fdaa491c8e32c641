"""``openai:<model>`` — chat completions through the official ``openai`` client.

Spec: ``openai:<model>`` or ``openai:<model>?max_tokens=2048&timeout=120&retries=4&backoff=1``
(the model name may itself contain ``:``, as Ollama tags do).  ``OPENAI_API_KEY`` is required
(missing → :class:`~harness.errors.LMError`, CLI exit 2); ``OPENAI_BASE_URL`` points the client at
any OpenAI-compatible server (vLLM, llama.cpp server, Ollama).  The key stays in this process.

Retries are explicit and owned here (the client's own ``max_retries`` is set to 0): rate limits
(429), server errors (5xx), timeouts and connection errors are retried ``retries`` times with
exponential back-off ``backoff * 2**attempt`` seconds, capped at ``max_backoff`` and raised to the
server's ``Retry-After`` when it sends one (capped too).  Other HTTP errors (400, 401, 404, ...)
fail at once with an :class:`LMError` naming the status.  Each message is one request asking for
``n`` choices; a server that returns fewer choices (some ignore ``n``) is asked again for the rest.
Usage comes from the response (estimated as characters / 4 when a server omits it) and cost from
``pricing.toml``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
import structlog

from stopbox.harness.errors import LMError, UsageError
from stopbox.harness.lm._base import (
    LanguageModel,
    LMResponse,
    SpecOptions,
    lm_backend,
    validate_request,
)
from stopbox.harness.lm.pricing import Pricing, load_pricing

__all__ = ["OpenAILM", "RETRYABLE_STATUS"]

_log = structlog.get_logger("stopbox.harness.lm.openai")
RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
_OPTIONS = ("max_tokens", "timeout", "retries", "backoff", "max_backoff")


class OpenAILM(LanguageModel):
    """Chat completions from an OpenAI(-compatible) server."""

    is_synthetic = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = 2048,
        timeout_s: float = 120.0,
        retries: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        pricing: Pricing | None = None,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        env = os.environ if env is None else env
        if not model:
            raise UsageError("openai: spec needs a model name, e.g. openai:gpt-4o-mini")
        key = api_key or env.get("OPENAI_API_KEY")
        if not key:
            raise LMError(
                f"openai:{model} needs an API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for an"
                " OpenAI-compatible server), or use --lm synthetic"
            )
        self.model = model
        self.spec = f"openai:{model}"
        self.base_url = base_url or env.get("OPENAI_BASE_URL") or None
        self.max_tokens = max_tokens
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.pricing = pricing or load_pricing()
        self._sleep = sleep
        self._redact = lambda text: text.replace(key, "***") if len(key) >= 8 else text
        self._client = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=timeout_s, max_retries=0
        )

    @property
    def label(self) -> str:
        where = f" at {_without_userinfo(self.base_url)}" if self.base_url else ""
        return f"{self.model} (OpenAI-compatible API{where})"

    def close(self) -> None:
        self._client.close()

    # -- one request with explicit retries -------------------------------------------------
    def _delay(self, attempt: int, error: Exception) -> float:
        delay = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        response = getattr(error, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        if header:
            try:
                delay = max(delay, min(self.max_backoff_s, float(header)))
            except ValueError:
                pass
        return delay

    def _create(self, message: str, system: str, temperature: float, n: int) -> Any:
        chat: list[dict[str, str]] = []
        if system:
            chat.append({"role": "system", "content": system})
        chat.append({"role": "user", "content": message})
        attempt = 0
        while True:
            try:
                return self._client.chat.completions.create(
                    model=self.model,
                    messages=chat,  # type: ignore[arg-type]
                    n=n,
                    temperature=temperature,
                    max_tokens=self.max_tokens,
                )
            except openai.APIStatusError as exc:
                if exc.status_code not in RETRYABLE_STATUS:
                    raise LMError(
                        f"{self.spec}: HTTP {exc.status_code} from"
                        f" {self.base_url or 'api.openai.com'}: {self._redact(_short(exc))}"
                    ) from None
                error: Exception = exc
                what = f"HTTP {exc.status_code}"
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                error = exc
                what = type(exc).__name__
            if attempt >= self.retries:
                raise LMError(
                    f"{self.spec}: gave up after {attempt + 1} attempts ({what}):"
                    f" {self._redact(_short(error))}"
                ) from None
            delay = self._delay(attempt, error)
            _log.warning("lm.openai.retry", model=self.model, attempt=attempt + 1, error=what,
                         delay_s=delay)  # fmt: skip
            self._sleep(delay)
            attempt += 1

    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        validate_request(messages, temperature, n)
        texts: list[str] = []
        prompt_tokens = completion_tokens = 0
        for message in messages:
            got: list[str] = []
            for _ in range(n):  # a server that ignores n is asked again for the rest
                response = self._create(message, system, float(temperature), n - len(got))
                choices = sorted(response.choices, key=lambda c: c.index)
                got.extend((c.message.content or "") for c in choices[: n - len(got)])
                usage = response.usage
                if usage is not None:
                    prompt_tokens += int(usage.prompt_tokens or 0)
                    completion_tokens += int(usage.completion_tokens or 0)
                else:
                    prompt_tokens += (len(system) + len(message)) // 4
                    completion_tokens += sum(len(c.message.content or "") for c in choices) // 4
                if len(got) >= n:
                    break
            if len(got) < n:
                raise LMError(f"{self.spec}: server returned {len(got)} of {n} samples")
            texts.extend(got)
        cost = self.pricing.cost(self.model, prompt_tokens, completion_tokens)
        return LMResponse(
            texts=tuple(texts),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            model=self.model,
        )


def _without_userinfo(url: str) -> str:
    """A URL fit for reports: ``user:password@`` removed."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _short(error: Exception, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@lm_backend("openai")
def _make_openai(argument: str, seed: int) -> LanguageModel:
    model, _, query = argument.partition("?")
    spec = f"openai:{argument}"
    options = SpecOptions.parse(query, spec=spec, allowed=_OPTIONS)
    num = options.number
    return OpenAILM(
        model.strip(),
        max_tokens=int(num("max_tokens", 2048, spec=spec, lo=1, hi=1_000_000)),
        timeout_s=num("timeout", 120.0, spec=spec, lo=0.1, hi=3600),
        retries=int(num("retries", 4, spec=spec, lo=0, hi=20)),
        backoff_s=num("backoff", 1.0, spec=spec, lo=0.0, hi=60),
        max_backoff_s=num("max_backoff", 30.0, spec=spec, lo=0.0, hi=600),
    )
