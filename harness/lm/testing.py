"""Public test helper: a tiny OpenAI-compatible chat-completions server on 127.0.0.1.

Use it to exercise the ``openai:`` backend through the real ``openai`` client and real HTTP::

    with FakeOpenAIServer(responses=["```python\\nx = 1\\n```"], fail_first=2) as server:
        lm = OpenAILM("gpt-4o-mini", api_key="test-key", base_url=server.base_url)
        response = lm.complete("system", ["hello"], temperature=0.7, n=3)
    assert server.requests[-1].body["n"] == 3

* binds 127.0.0.1 on a free port (stdlib ``http.server`` in a daemon thread) and stops when the
  ``with`` block ends (or on :meth:`stop`);
* ``responses``: texts handed out in order (cycled); or ``responder(request) -> list[str]`` to
  script answers from the request (it gets a :class:`RecordedRequest`; return one text per
  sample); :meth:`FakeOpenAIServer.backed_by` answers with any ``LanguageModel`` (e.g. the
  synthetic proposer), for whole runs through the real client offline;
* ``fail_first=k`` answers the first ``k`` chat requests with ``fail_status`` (429 by default,
  or 500/503) and an OpenAI-style error body; ``retry_after`` adds a ``Retry-After`` header;
* ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get 401;
* ``model``: the one model ``GET /v1/models`` lists (and answers as); without it, or with
  ``models_endpoint=False``, ``/v1/models`` is 404 (a server that does not say what it serves);
* :class:`SilentServer` accepts connections and never answers (deadline tests);
* ``ignore_n=True`` behaves like servers that return one choice whatever ``n`` asks;
* every request (also failed ones) is kept in :attr:`requests` with path, headers and JSON body;
* usage: ``prompt_tokens`` = words in all messages, ``completion_tokens`` = words in the answers
  (deterministic, so tests can check cost arithmetic).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stopbox.harness.lm._base import LanguageModel

__all__ = ["FakeOpenAIServer", "RecordedRequest", "SilentServer"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    """The HTTP status the server answered with."""

    @property
    def user_messages(self) -> list[str]:
        return [
            str(m.get("content", ""))
            for m in self.body.get("messages", [])
            if m.get("role") == "user"
        ]

    @property
    def system_message(self) -> str | None:
        for m in self.body.get("messages", []):
            if m.get("role") == "system":
                return str(m.get("content", ""))
        return None


@dataclass
class _Script:
    responses: Sequence[str]
    responder: Callable[[RecordedRequest], Sequence[str]] | None
    fail_first: int
    fail_status: int
    retry_after: float | None
    api_key: str | None
    ignore_n: bool
    delay_s: float
    model: str | None
    models_endpoint: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    next_text: int = 0
    chat_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _words(text: str) -> int:
    return len(text.split())


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenAI/1"
    script: _Script  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr logging
        return

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: dict[str, Any], status: int) -> RecordedRequest:
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            status=status,
        )
        self.script.requests.append(request)
        return request

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        with self.script.lock:
            models = (
                self.script.models_endpoint
                and self.script.model is not None
                and self.path.rstrip("/").endswith("/models")
            )
            self._record({}, 200 if models else 404)
        if models:
            self._send(
                200,
                {
                    "object": "list",
                    "data": [{"id": self.script.model, "object": "model"}],
                },
            )
        else:
            self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self._read_body()
        if not self.path.rstrip("/").endswith("/chat/completions"):
            with self.script.lock:
                self._record(body, 404)
            self._send(
                404,
                {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}},
            )
            return
        status, request = self._admit(body)
        if status == 401:
            self._send_unauthorised()
        elif status is not None:
            self._send_scripted_failure(status)
        else:
            assert request is not None  # admitted: recorded with status 200
            self._send_completion(body, request)

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: dict[str, Any] = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        return body

    def _admit(self, body: dict[str, Any]) -> tuple[int | None, RecordedRequest | None]:
        """Record the request; its failure status (401, a scripted failure), or None and the
        recorded request when it is to be answered."""
        script = self.script
        with script.lock:
            if (
                script.api_key is not None
                and self.headers.get("Authorization") != f"Bearer {script.api_key}"
            ):
                self._record(body, 401)
                return 401, None
            script.chat_requests += 1
            if script.chat_requests <= script.fail_first:
                self._record(body, script.fail_status)
                return script.fail_status, None
            return None, self._record(body, 200)

    def _send_unauthorised(self) -> None:
        given = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self._send(
            401,
            {
                "error": {  # echoes the key, as careless servers do (tests redaction)
                    "message": f"Incorrect API key provided: {given}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        )

    def _send_scripted_failure(self, status: int) -> None:
        script = self.script
        headers = {} if script.retry_after is None else {"Retry-After": f"{script.retry_after:g}"}
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        self._send(
            status,
            {"error": {"message": f"scripted {status}", "type": kind, "code": kind}},
            headers,
        )

    def _send_completion(self, body: dict[str, Any], request: RecordedRequest) -> None:
        script = self.script
        if script.delay_s:
            time.sleep(script.delay_s)
        n = 1 if script.ignore_n else int(body.get("n") or 1)
        texts = self._texts(request, n)
        prompt_tokens = sum(_words(str(m.get("content", ""))) for m in body.get("messages", []))
        completion_tokens = sum(_words(t) for t in texts)
        self._send(
            200,
            {
                "id": f"chatcmpl-fake-{len(script.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": script.model or str(body.get("model", "fake")),
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": t},
                        "finish_reason": "stop",
                    }
                    for i, t in enumerate(texts)
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )

    def _texts(self, request: RecordedRequest, n: int) -> list[str]:
        script = self.script
        if script.responder is not None:
            return [str(t) for t in script.responder(request)][:n]
        with script.lock:
            out = []
            for _ in range(n):
                out.append(script.responses[script.next_text % len(script.responses)])
                script.next_text += 1
            return out


class FakeOpenAIServer:
    """An OpenAI-compatible ``/v1/chat/completions`` server for tests (see the module docstring)."""

    def __init__(
        self,
        responses: Sequence[str] = ("ok",),
        *,
        responder: Callable[[RecordedRequest], Sequence[str]] | None = None,
        fail_first: int = 0,
        fail_status: int = 429,
        retry_after: float | None = None,
        api_key: str | None = None,
        ignore_n: bool = False,
        delay_s: float = 0.0,
        model: str | None = None,
        models_endpoint: bool = True,
    ) -> None:
        if not responses and responder is None:
            raise ValueError("give responses or a responder")
        self._script = _Script(
            responses=tuple(responses),
            responder=responder,
            fail_first=fail_first,
            fail_status=fail_status,
            retry_after=retry_after,
            api_key=api_key,
            ignore_n=ignore_n,
            delay_s=delay_s,
            model=model,
            models_endpoint=models_endpoint,
        )
        handler = type("_BoundHandler", (_Handler,), {"script": self._script})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def backed_by(cls, lm: LanguageModel, **kwargs: Any) -> FakeOpenAIServer:
        """A server whose answers come from ``lm`` (e.g. the synthetic proposer).

        Each chat request becomes ``lm.complete(system, [user message], temperature=...,
        n=...)``, so a full STOP run can go through the real openai client and real HTTP offline.
        """

        def respond(request: RecordedRequest) -> list[str]:
            body = request.body
            user = request.user_messages
            response = lm.complete(
                request.system_message or "",
                [user[-1] if user else ""],
                temperature=float(body.get("temperature", 1.0)),
                n=int(body.get("n") or 1),
            )
            return list(response.texts)

        return cls(responder=respond, **kwargs)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` / ``OPENAI_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._script.lock:
            return list(self._script.requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def start(self) -> FakeOpenAIServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection, reads, and never answers.

    What a wedged model server looks like to a client; it stops (closing every connection) when
    the ``with`` block ends.  :attr:`connections` counts the connections it accepted.
    """

    def __init__(self) -> None:
        import socket

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._conns: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self.connections = 0

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._conns.append(conn)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._conns:
            conn.close()
        self._sock.close()
