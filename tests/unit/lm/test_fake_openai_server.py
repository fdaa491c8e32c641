"""FakeOpenAIServer itself: binds 127.0.0.1, scripts failures, records requests, stops."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from stopbox.harness.lm.testing import FakeOpenAIServer, RecordedRequest


def post(
    url: str, body: dict[str, object], key: str | None = None
) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serves_chat_completions_on_loopback_and_stops() -> None:
    with FakeOpenAIServer(["hello there"], fail_first=1, fail_status=500) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        url = server.base_url + "/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "a b"}], "n": 2}
        status, failed = post(url, body)
        assert status == 500
        assert "error" in failed
        status, ok = post(url, body)
        assert status == 200
        choices = ok["choices"]
        assert isinstance(choices, list) and len(choices) == 2
        assert ok["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
        port = server.port
        assert [r.status for r in server.chat_requests] == [500, 200]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_responder_scripts_answers_from_the_request() -> None:
    def echo(request: RecordedRequest) -> list[str]:
        return [m.upper() for m in request.user_messages] * int(request.body.get("n", 1))

    with FakeOpenAIServer(responder=echo, api_key="k") as server:
        url = server.base_url + "/chat/completions"
        status, _ = post(url, {"model": "m", "messages": [{"role": "user", "content": "x"}]})
        assert status == 401
        status, ok = post(
            url, {"model": "m", "messages": [{"role": "user", "content": "shout"}]}, "k"
        )
    assert status == 200
    assert ok["choices"][0]["message"]["content"] == "SHOUT"  # type: ignore[index]


def test_requires_responses_or_responder() -> None:
    with pytest.raises(ValueError):
        FakeOpenAIServer([])
