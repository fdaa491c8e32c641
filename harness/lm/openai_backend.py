"""``openai:<model>`` — chat completions through the official ``openai`` client.

Spec: ``openai:<model>`` or ``openai:<model>?max_tokens=2048&timeout=120&deadline=600&retries=4
&backoff=1&price_in=0.15&price_out=0.6`` (the model name may itself contain ``:``, as Ollama tags
do).  ``OPENAI_BASE_URL`` (or ``--base-url``) points the client at any OpenAI-compatible server
(vLLM, llama.cpp server, Ollama); ``OPENAI_API_KEY`` is required for the OpenAI API and optional
with a base URL (local servers need none).  The key stays in this process.

Deadlines: one call (:meth:`OpenAILM.complete`, every request and retry it makes) ends by its
overall ``deadline`` (seconds) or by the caller's wall budget
(:func:`~stopbox.harness.lm._deadline.lm_deadline`), whichever comes first.  Each request's timeout
is what remains (capped by ``timeout`` when given); at the deadline the request is abandoned and its
connection closed by the client's own timeout.  The caller's budget running out raises
:class:`~stopbox.harness.lm._deadline.DeadlineExceeded` (the improver loses that call); the call's
own deadline running out is an :class:`LMError` naming the URL (the server is too slow).

Retries only what is safe to retry: a connection refused before the request was sent, HTTP 429 and
502-504, with exponential back-off ``backoff * 2**attempt`` (capped at ``max_backoff``, raised to
the server's ``Retry-After``).  A read timeout — the server may still be computing — is retried
only when the remaining deadline still allows a whole new attempt.  Other HTTP errors (400, 401,
404, 500, ...) fail at once with an :class:`LMError` naming the status and the URL.

Each message is one request asking for ``n`` choices; a server that returns fewer (some ignore
``n``) is asked again for the rest, and :attr:`LMResponse.requests` counts every request.  Usage
comes from the response (estimated as characters / 4 when a server omits it); cost from
``pricing.toml`` or the spec's ``price_in``/``price_out`` (USD per 1M tokens).  A model with no
price is *unpriced*: tokens are counted, ``cost_usd`` is 0 and ``priced`` is False.

:meth:`OpenAILM.preflight` checks the server before any work: ``GET /models`` must list the model
(else an error listing the models it serves); a server without ``/models`` is a warning; a refused
or silent connection is an error with the URL.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
import structlog

try:  # the openai client's HTTP library (httpx2 in current releases, httpx before)
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older openai releases
    import httpx  # type: ignore[no-redef]
from stopbox.harness.errors import LMError, UsageError
from stopbox.harness.lm._base import (
    LanguageModel,
    LMResponse,
    SpecOptions,
    lm_backend,
    validate_request,
)
from stopbox.harness.lm._deadline import Deadline, DeadlineExceeded, current_deadline
from stopbox.harness.lm.pricing import ModelPrice, Pricing, load_pricing

__all__ = ["OpenAILM", "RETRYABLE_STATUS", "DEFAULT_BASE_URL", "set_base_url"]

_log = structlog.get_logger("stopbox.harness.lm.openai")
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
DEFAULT_BASE_URL = "https://api.openai.com/v1"
PREFLIGHT_TIMEOUT_S = 10.0
_OPTIONS = (
    "max_tokens", "timeout", "deadline", "retries", "backoff", "max_backoff", "price_in",
    "price_out",
)  # fmt: skip
_NO_KEY = "sk-no-key-needed"


def set_base_url(url: str, env: dict[str, str] | None = None) -> str:
    """Validate ``--base-url`` and make it the run's ``OPENAI_BASE_URL`` (the flag wins)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--base-url {url!r}: expected http://HOST[:PORT]/v1 or https://...")
    target = os.environ if env is None else env
    target["OPENAI_BASE_URL"] = url.rstrip("/")
    return url.rstrip("/")


class _Abandoned(Exception):
    """A request still in flight at its deadline (its thread ends by the client's timeout)."""


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
        timeout_s: float | None = None,
        deadline_s: float = 600.0,
        retries: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        pricing: Pricing | None = None,
        price: ModelPrice | None = None,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        env = os.environ if env is None else env
        if not model:
            raise UsageError("openai: spec needs a model name, e.g. openai:gpt-4o-mini")
        self.base_url = (base_url or env.get("OPENAI_BASE_URL") or "").rstrip("/") or None
        key = api_key or env.get("OPENAI_API_KEY")
        if not key:
            if self.base_url is None:
                raise LMError(
                    f"openai:{model} needs an API key: set OPENAI_API_KEY, or point it at an"
                    " OpenAI-compatible server with --base-url / OPENAI_BASE_URL (no key needed),"
                    " or use --lm synthetic"
                )
            key = _NO_KEY
        self.model = model
        self.spec = f"openai:{model}"
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.pricing = pricing or load_pricing()
        self.price = price or self.pricing.price(model)
        self._sleep = sleep
        self.preflight_timeout_s = PREFLIGHT_TIMEOUT_S
        self._key = key
        self._client = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=timeout_s or deadline_s, max_retries=0
        )

    @property
    def url(self) -> str:
        """The server's base URL, fit for messages and reports (no credentials)."""
        return _without_userinfo(self.base_url or DEFAULT_BASE_URL)

    @property
    def label(self) -> str:
        where = f" at {self.url}" if self.base_url else ""
        return f"{self.model} (OpenAI-compatible API{where})"

    @property
    def priced(self) -> bool:
        return self.price is not None

    def close(self) -> None:
        self._client.close()

    # -- preflight --------------------------------------------------------------------------
    def preflight(self) -> list[str]:
        url = f"{self.url}/models"
        try:
            page = self._client.models.list(timeout=self.preflight_timeout_s)
        except openai.APITimeoutError:
            raise LMError(
                f"{self.spec}: the server at {self.url} accepted the connection but did not"
                f" answer GET /models within {self.preflight_timeout_s:g} s (still loading the"
                " model, or stuck?)"
            ) from None
        except openai.APIConnectionError as exc:
            raise LMError(self._connection_message(exc)) from None
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501):
                warning = (
                    f"{self.spec}: the server at {self.url} has no /models (HTTP"
                    f" {exc.status_code}); the model name {self.model!r} was not checked"
                )
                _log.warning("lm.openai.no_models_endpoint", url=url, status=exc.status_code)
                return [warning]
            raise LMError(
                f"{self.spec}: GET {url} failed with HTTP {exc.status_code}:"
                f" {self._redact(_short(exc))}"
            ) from None
        served = sorted({str(m.id) for m in page.data})
        if self.model not in served:
            raise LMError(
                f"{self.spec}: the server at {self.url} does not serve model {self.model!r};"
                f" it serves: {', '.join(served) or '(none)'}"
                f" (use --lm openai:{served[0] if served else '<model>'})"
            )
        return []

    def _connection_message(self, exc: BaseException) -> str:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, httpx.ConnectError) or "refused" in str(cause).lower():
            return (
                f"{self.spec}: cannot connect to {self.url} (connection refused): is the server"
                " running, and is the URL right? (--base-url / OPENAI_BASE_URL)"
            )
        return f"{self.spec}: connection to {self.url} failed: {self._redact(_short(exc))}"

    # -- one request, bounded by the deadline, with safe retries -------------------------------
    def _redact(self, text: str) -> str:
        """``text`` without the API key (a careless server may echo it)."""
        return text.replace(self._key, "***") if len(self._key) >= 8 else text

    def _delay(self, attempt: int, error: Exception) -> float:
        delay: float = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        response = getattr(error, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        if header:
            try:
                delay = max(delay, min(self.max_backoff_s, float(header)))
            except ValueError:
                pass
        return delay

    def _request(self, chat: list[dict[str, str]], temperature: float, n: int, limit: float) -> Any:
        """One HTTP request that returns within ``limit`` s (else raises :class:`_Abandoned`)."""
        box: dict[str, Any] = {}
        done = threading.Event()
        timeout = httpx.Timeout(limit, connect=min(limit, PREFLIGHT_TIMEOUT_S))

        def run() -> None:
            try:
                box["value"] = self._client.chat.completions.create(
                    model=self.model,
                    messages=chat,  # type: ignore[arg-type]
                    n=n,
                    temperature=temperature,
                    max_tokens=self.max_tokens,
                    timeout=timeout,
                )
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=run, name="stopbox-lm-request", daemon=True)
        worker.start()
        if not done.wait(limit + 0.5):
            raise _Abandoned()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _create(
        self, message: str, system: str, temperature: float, n: int, deadline: Deadline
    ) -> Any:
        chat: list[dict[str, str]] = []
        if system:
            chat.append({"role": "system", "content": system})
        chat.append({"role": "user", "content": message})
        attempt = 0
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise self._deadline_error(deadline, attempt)
            limit = min(remaining, self.timeout_s) if self.timeout_s else remaining
            started = time.monotonic()
            try:
                return self._request(chat, temperature, n, limit)
            except openai.APIStatusError as exc:
                if exc.status_code not in RETRYABLE_STATUS:
                    raise LMError(
                        f"{self.spec}: HTTP {exc.status_code} from {self.url}:"
                        f" {self._redact(_short(exc))}"
                    ) from None
                error: Exception = exc
                what = f"HTTP {exc.status_code}"
            except (openai.APITimeoutError, _Abandoned) as exc:
                # the server may still be computing: retry only when a whole new attempt fits
                took = time.monotonic() - started
                if deadline.remaining() <= 0 or deadline.remaining() < took:
                    raise self._deadline_error(deadline, attempt + 1) from None
                error, what = exc, "APITimeoutError"
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc.__context__
                if not isinstance(cause, httpx.ConnectError):  # sent, then lost: not safe
                    raise LMError(self._connection_message(exc)) from None
                error, what = exc, "connection refused"
                if attempt >= self.retries:
                    raise LMError(
                        self._connection_message(exc) + f" (after {attempt + 1} attempts)"
                    ) from None
            if attempt >= self.retries:
                raise LMError(
                    f"{self.spec}: gave up after {attempt + 1} attempts ({what}) at {self.url}:"
                    f" {self._redact(_short(error))}"
                ) from None
            delay = min(self._delay(attempt, error), max(0.0, deadline.remaining()))
            _log.warning("lm.openai.retry", model=self.model, url=self.url, attempt=attempt + 1,
                         error=what, delay_s=delay)  # fmt: skip
            self._sleep(delay)
            attempt += 1

    def _deadline_error(self, deadline: Deadline, attempts: int) -> Exception:
        if attempts:
            detail = f"{self.url} sent no answer in time ({attempts} attempt(s); request cancelled)"
        else:
            detail = f"no time left to send a request to {self.url}"
        if deadline.what.startswith("lm call deadline"):
            return LMError(f"{self.spec}: {detail}; {deadline.what}")
        return DeadlineExceeded(deadline, detail)

    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        validate_request(messages, temperature, n)
        own = Deadline(
            time.monotonic() + self.deadline_s, f"lm call deadline {self.deadline_s:g} s"
        )
        outer = current_deadline()
        deadline = outer if outer is not None and outer.at < own.at else own
        texts: list[str] = []
        prompt_tokens = completion_tokens = requests = 0
        for message in messages:
            got: list[str] = []
            for _ in range(n):  # a server that ignores n is asked again for the rest
                response = self._create(message, system, float(temperature), n - len(got), deadline)
                requests += 1
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
        cost = self.price.cost(prompt_tokens, completion_tokens) if self.price else 0.0
        if requests > len(messages):
            _log.info("lm.openai.ignored_n", model=self.model, n=n, requests=requests)
        return LMResponse(
            texts=tuple(texts),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            model=self.model,
            priced=self.priced,
            requests=requests,
        )


def _without_userinfo(url: str) -> str:
    """A URL fit for reports: ``user:password@`` removed."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _short(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@lm_backend("openai")
def _make_openai(argument: str, seed: int) -> LanguageModel:
    model, _, query = argument.partition("?")
    spec = f"openai:{argument}"
    options = SpecOptions.parse(query, spec=spec, allowed=_OPTIONS)
    num = options.number
    price = None
    if "price_in" in options.values or "price_out" in options.values:
        if not ("price_in" in options.values and "price_out" in options.values):
            raise UsageError(f"LM spec {spec!r}: give both price_in and price_out (USD per 1M)")
        price = ModelPrice(
            num("price_in", 0.0, spec=spec, lo=0.0, hi=10_000),
            num("price_out", 0.0, spec=spec, lo=0.0, hi=10_000),
        )
    timeout = (
        num("timeout", 0.0, spec=spec, lo=0.1, hi=3600) if "timeout" in options.values else None
    )
    return OpenAILM(
        model.strip(),
        max_tokens=int(num("max_tokens", 2048, spec=spec, lo=1, hi=1_000_000)),
        timeout_s=timeout,
        deadline_s=num("deadline", 600.0, spec=spec, lo=0.1, hi=86_400),
        retries=int(num("retries", 4, spec=spec, lo=0, hi=20)),
        backoff_s=num("backoff", 1.0, spec=spec, lo=0.0, hi=60),
        max_backoff_s=num("max_backoff", 30.0, spec=spec, lo=0.0, hi=600),
        price=price,
    )
