"""An LM client users can trust: /v1/models checked, refused or silent servers fail fast with the
URL, deadlines that cut a request in flight, safe retries only, unpriced models."""

from __future__ import annotations

import socket
import time

import pytest

from stopbox.harness.errors import LMError, UsageError
from stopbox.harness.lm import get_lm
from stopbox.harness.lm._deadline import DeadlineExceeded, lm_deadline
from stopbox.harness.lm.openai_backend import OpenAILM, set_base_url
from stopbox.harness.lm.testing import FakeOpenAIServer, SilentServer

MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


def make(url: str, model: str = MODEL, **kwargs: object) -> OpenAILM:
    return OpenAILM(model, base_url=url, env={}, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_local_server_needs_no_key_and_the_served_model_passes() -> None:
    with FakeOpenAIServer(["ok"], model=MODEL) as server:
        lm = make(server.base_url)
        assert lm.preflight() == []
        assert lm.complete("", ["hi"], temperature=0.1).texts == ("ok",)
    assert server.requests[0].path == "/v1/models"


def test_a_model_the_server_does_not_serve_is_an_error_listing_the_served_models() -> None:
    with FakeOpenAIServer(["ok"], model=MODEL) as server:
        lm = make(server.base_url, model="gpt-4o")
        with pytest.raises(LMError) as info:
            lm.preflight()
    message = str(info.value)
    assert "does not serve model 'gpt-4o'" in message and MODEL in message
    assert server.base_url in message
    assert server.chat_requests == []  # nothing was sent to the model


def test_a_server_without_models_endpoint_is_a_warning() -> None:
    with FakeOpenAIServer(["ok"], model=MODEL, models_endpoint=False) as server:
        warnings = make(server.base_url).preflight()
    assert len(warnings) == 1 and "has no /models" in warnings[0] and "not checked" in warnings[0]


def test_a_refused_connection_fails_fast_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    lm = make(url, retries=2, backoff_s=0.0)
    started = time.monotonic()
    with pytest.raises(LMError, match="connection refused") as info:
        lm.preflight()
    assert url in str(info.value)
    with pytest.raises(LMError, match="connection refused") as info:
        lm.complete("", ["hi"], temperature=0.1)  # refused before sending: retried, then fails
    assert url in str(info.value) and "after 3 attempts" in str(info.value)
    assert time.monotonic() - started < 60  # fails fast: no 600 s client timeout


def test_a_silent_server_fails_the_check_fast_with_the_url() -> None:
    with SilentServer() as server:
        lm = make(server.base_url)
        lm.preflight_timeout_s = 0.5
        started = time.monotonic()
        with pytest.raises(LMError, match="accepted the connection but did not answer") as info:
            lm.preflight()
    assert time.monotonic() - started < 60  # the 0.5 s check, not a 600 s client timeout
    assert server.base_url in str(info.value)


def test_a_wall_budget_cuts_a_request_in_flight() -> None:
    with SilentServer() as server:
        lm = make(server.base_url, retries=4)
        started = time.monotonic()
        with lm_deadline(0.6, "improver_wall_s = 0.6 s"), pytest.raises(DeadlineExceeded) as info:
            lm.complete("", ["hi"], temperature=0.1)
        took = time.monotonic() - started
    assert took < 60  # the 0.6 s budget, not the client's 600 s default timeout
    assert "improver_wall_s = 0.6 s" in str(info.value) and server.base_url in str(info.value)
    assert info.value.budget == "wall_time"
    assert server.connections == 1  # a read timeout with no time left is not retried


def test_the_call_deadline_covers_retries_and_names_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with SilentServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        spec = get_lm(f"openai:{MODEL}?deadline=0.8&timeout=0.3&retries=10&backoff=0")
        assert isinstance(spec, OpenAILM)
        assert (spec.deadline_s, spec.timeout_s, spec.retries) == (0.8, 0.3, 10)
        lm = make(server.base_url, deadline_s=0.8, timeout_s=0.3, retries=10, backoff_s=0.0)
        started = time.monotonic()
        with pytest.raises(LMError, match="sent no answer in time") as info:
            lm.complete("", ["hi"], temperature=0.1)
        took = time.monotonic() - started
    assert took < 60  # the 0.8 s call deadline, not 10 retries of 0.3 s plus back-off
    assert server.base_url in str(info.value) and "lm call deadline 0.8 s" in str(info.value)
    # read timeouts retried only while a whole new attempt still fitted in the deadline
    assert 1 <= server.connections <= 3


def test_internal_server_errors_are_not_retried() -> None:
    with FakeOpenAIServer(["x"], fail_first=1, fail_status=500, model=MODEL) as server:
        with pytest.raises(LMError, match="HTTP 500"):
            make(server.base_url, backoff_s=0.0).complete("", ["hi"], temperature=0.1)
    assert len(server.chat_requests) == 1


def test_an_unknown_model_is_unpriced_and_a_spec_price_prices_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOpenAIServer(["a b"], model=MODEL) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        unpriced = get_lm(f"openai:{MODEL}").complete("", ["x y"], temperature=0.1)
        priced = get_lm(f"openai:{MODEL}?price_in=1&price_out=2").complete(
            "", ["x y"], temperature=0.1
        )
    assert (unpriced.priced, unpriced.cost_usd, unpriced.total_tokens) == (False, 0.0, 4)
    assert priced.priced and priced.cost_usd == pytest.approx((2 * 1 + 2 * 2) / 1e6)
    with pytest.raises(UsageError, match="both price_in and price_out"):
        get_lm(f"openai:{MODEL}?price_in=1")


def test_prepare_lm_says_an_unpriced_dollar_budget_is_not_enforced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stopbox.harness.commands._lm_options import prepare_lm
    from stopbox.harness.policy import load_policy

    with FakeOpenAIServer(["a"], model=MODEL) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        info = prepare_lm(f"openai:{MODEL}", 0, load_policy("local-lm"))
    assert info["priced"] is False and info["base_url"] == server.base_url
    assert info["dollar_budget"] == "not enforced: unpriced model"
    assert "cannot be enforced" in capsys.readouterr().err


def test_a_server_that_ignores_n_is_counted_in_requests() -> None:
    with FakeOpenAIServer(["s1", "s2", "s3"], ignore_n=True, model=MODEL) as server:
        response = make(server.base_url).complete("", ["hi"], temperature=0.9, n=3)
    assert response.requests == 3 == len(server.chat_requests)


def test_base_url_flag_is_validated_and_wins_over_the_environment() -> None:
    env = {"OPENAI_BASE_URL": "http://elsewhere:1/v1"}
    assert set_base_url("http://127.0.0.1:8080/v1/", env) == "http://127.0.0.1:8080/v1"
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:8080/v1"
    with pytest.raises(UsageError, match="--base-url"):
        set_base_url("127.0.0.1:8080", env)
