"""openai:<model> through the real openai client and real HTTP against FakeOpenAIServer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stopbox.harness.errors import LMError, UsageError
from stopbox.harness.lm import get_lm
from stopbox.harness.lm.openai_backend import OpenAILM
from stopbox.harness.lm.pricing import load_pricing
from stopbox.harness.lm.testing import FakeOpenAIServer

KEY = "sk-test-123"


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_lm(server: FakeOpenAIServer, **kwargs: object) -> OpenAILM:
    return OpenAILM("gpt-4o-mini", api_key=KEY, base_url=server.base_url, **kwargs)  # type: ignore[arg-type]


def test_n_samples_temperature_system_and_auth_reach_the_server() -> None:
    with FakeOpenAIServer(["one two", "three"], api_key=KEY) as server:
        lm = make_lm(server, max_tokens=123)
        response = lm.complete("be brief", ["first prompt", "second"], temperature=0.3, n=3)
        lm.close()
    assert response.texts == ("one two", "three", "one two", "three", "one two", "three")
    chats = server.chat_requests
    assert len(chats) == 2
    assert [r.body["n"] for r in chats] == [3, 3]
    assert [r.body["temperature"] for r in chats] == [0.3, 0.3]
    assert [r.body["max_tokens"] for r in chats] == [123, 123]
    assert [r.body["model"] for r in chats] == ["gpt-4o-mini"] * 2
    assert [r.user_messages for r in chats] == [["first prompt"], ["second"]]
    assert chats[0].system_message == "be brief"
    assert chats[0].headers["authorization"] == f"Bearer {KEY}"
    assert chats[0].path == "/v1/chat/completions"


def test_usage_and_cost_come_from_the_response_and_the_pricing_table() -> None:
    with FakeOpenAIServer(["a b c d"]) as server:
        response = make_lm(server).complete("sys word", ["x y z"], temperature=0.0, n=2)
    # the fake server counts words: prompt = "sys word" + "x y z" = 5; completion = 2 * 4
    assert (response.prompt_tokens, response.completion_tokens) == (5, 8)
    price = load_pricing().price("gpt-4o-mini")
    assert price is not None
    expected = (5 * price.input_per_million + 8 * price.output_per_million) / 1e6
    assert response.cost_usd == pytest.approx(expected)
    assert response.cost_usd > 0
    assert response.model == "gpt-4o-mini"
    assert response.labels == ()


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retries_rate_limits_and_gateway_errors_with_exponential_backoff(status: int) -> None:
    sleeps = Sleeps()
    with FakeOpenAIServer(["fine"], fail_first=3, fail_status=status) as server:
        lm = make_lm(server, retries=4, backoff_s=0.5, max_backoff_s=1.5, sleep=sleeps)
        response = lm.complete("", ["hi"], temperature=0.7)
    assert response.texts == ("fine",)
    assert [r.status for r in server.chat_requests] == [status, status, status, 200]
    assert sleeps.calls == [0.5, 1.0, 1.5]  # 0.5 * 2**k, capped at max_backoff


def test_retry_after_header_is_honoured_up_to_the_cap() -> None:
    sleeps = Sleeps()
    with FakeOpenAIServer(["ok"], fail_first=1, retry_after=3) as server:
        make_lm(server, backoff_s=0.01, max_backoff_s=10, sleep=sleeps).complete(
            "", ["hi"], temperature=0.5
        )
    assert sleeps.calls == [3.0]


def test_gives_up_after_the_configured_retries_with_a_clear_error() -> None:
    sleeps = Sleeps()
    with FakeOpenAIServer(["never"], fail_first=10, fail_status=429) as server:
        lm = make_lm(server, retries=2, backoff_s=0.0, sleep=sleeps)
        with pytest.raises(LMError, match=r"gave up after 3 attempts \(HTTP 429\)"):
            lm.complete("", ["hi"], temperature=0.5)
    assert len(server.chat_requests) == 3
    assert len(sleeps.calls) == 2


def test_timeouts_are_retried() -> None:
    sleeps = Sleeps()
    with FakeOpenAIServer(["slow"], delay_s=0.6) as server:
        lm = OpenAILM(
            "gpt-4o-mini", api_key=KEY, base_url=server.base_url, timeout_s=0.2, retries=1,
            backoff_s=0.0, sleep=sleeps,
        )  # fmt: skip
        with pytest.raises(LMError, match="APITimeoutError"):
            lm.complete("", ["hi"], temperature=0.5)
    assert len(sleeps.calls) == 1
    assert len(server.chat_requests) == 2


@pytest.mark.parametrize("status", [400, 404, 500])
def test_client_and_internal_errors_fail_at_once(status: int) -> None:
    sleeps = Sleeps()
    with FakeOpenAIServer(["x"], fail_first=1, fail_status=status) as server:
        with pytest.raises(LMError, match=f"HTTP {status}"):
            make_lm(server, sleep=sleeps).complete("", ["hi"], temperature=0.5)
    assert sleeps.calls == []
    assert len(server.chat_requests) == 1


def test_wrong_key_is_a_clear_error_without_retries() -> None:
    with FakeOpenAIServer(["x"], api_key="the-right-key") as server:
        lm = OpenAILM("gpt-4o-mini", api_key="wrong", base_url=server.base_url, retries=3)
        with pytest.raises(LMError, match="HTTP 401"):
            lm.complete("", ["hi"], temperature=0.5)
    assert len(server.chat_requests) == 1


def test_a_server_that_ignores_n_is_asked_again_for_the_rest() -> None:
    with FakeOpenAIServer(["s1", "s2", "s3"], ignore_n=True) as server:
        response = make_lm(server).complete("", ["hi"], temperature=0.9, n=3)
    assert response.texts == ("s1", "s2", "s3")
    assert [r.body["n"] for r in server.chat_requests] == [3, 2, 1]


def test_missing_key_is_an_lm_error_naming_the_variable() -> None:
    with pytest.raises(LMError, match="OPENAI_API_KEY"):
        OpenAILM("gpt-4o-mini", env={})


def test_get_lm_reads_key_and_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOpenAIServer(["env ok"], api_key="env-key") as server:
        monkeypatch.setenv("OPENAI_API_KEY", "env-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        lm = get_lm("openai:llama3:8b?max_tokens=64&retries=0")
        response = lm.complete("", ["hi"], temperature=0.2)
    assert response.texts == ("env ok",)
    assert lm.spec == "openai:llama3:8b?max_tokens=64&retries=0"
    assert lm.model == "llama3:8b"  # Ollama-style tags keep their colon
    assert not lm.is_synthetic
    assert server.base_url in lm.label
    body = server.chat_requests[0].body
    assert (body["model"], body["max_tokens"]) == ("llama3:8b", 64)


def test_get_lm_without_key_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LMError, match="OPENAI_API_KEY"):
        get_lm("openai:gpt-4o-mini")


@pytest.mark.parametrize("spec", ["openai:", "openai:gpt-4o?bogus=1", "openai:gpt-4o?retries=x"])
def test_bad_openai_specs_are_usage_errors(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with pytest.raises(UsageError):
        get_lm(spec)


def test_unknown_model_costs_zero() -> None:
    with FakeOpenAIServer(["a"]) as server:
        lm = OpenAILM("my-local-model", api_key=KEY, base_url=server.base_url)
        response = lm.complete("", ["hi"], temperature=0.5)
    assert response.cost_usd == 0.0
    assert response.prompt_tokens == 1


def test_a_server_backed_by_the_synthetic_proposer_serves_its_answers() -> None:
    from stopbox.harness.lm.synthetic import SyntheticLM

    prompt = "Improve the following solution:\n```python\ndef improve_algorithm(a, b, c): ...\n```"
    direct = SyntheticLM(seed=3).complete("expert", [prompt], temperature=0.7, n=4)
    with FakeOpenAIServer.backed_by(SyntheticLM(seed=3)) as server:
        via_http = make_lm(server).complete("expert", [prompt], temperature=0.7, n=4)
    assert via_http.texts == direct.texts
    assert server.chat_requests[0].body["n"] == 4


def test_the_key_appears_only_in_the_authorization_header(tmp_path: Path) -> None:
    from stopbox.harness.lm.replay import RecordingLM

    secret = "sk-very-secret-value"
    cassette = tmp_path / "c.jsonl"
    with FakeOpenAIServer(["answer"], api_key=secret) as server:
        lm = OpenAILM("gpt-4o-mini", api_key=secret, base_url=server.base_url)
        recorder = RecordingLM(lm, cassette)
        response = recorder.complete("sys", ["hi"], temperature=0.5)
        recorder.close()
        wrong = OpenAILM("gpt-4o-mini", api_key=secret + "x", base_url=server.base_url)
        with pytest.raises(LMError) as info:
            wrong.complete("sys", ["hi"], temperature=0.5)
    assert secret not in cassette.read_text()
    assert secret not in repr(lm) + lm.label + lm.spec + repr(response)
    assert secret not in str(info.value)
    assert server.chat_requests[0].headers["authorization"] == f"Bearer {secret}"
    assert all(secret not in json.dumps(r.body) for r in server.chat_requests)


def test_label_hides_credentials_in_the_base_url() -> None:
    lm = OpenAILM("m", api_key=KEY, base_url="http://user:pw@127.0.0.1:9/v1")
    assert "pw" not in lm.label and "user" not in lm.label
    assert "127.0.0.1:9/v1" in lm.label
