"""Trusted fakes for engine unit tests: no untrusted code runs anywhere.

A fake *program* is a text whose first line names a behaviour (``# fake-improver: best_of_n``,
``# fake-solution: q=0.7``); :class:`FakeSandbox` looks the behaviour up and runs this trusted test
code instead of executing anything, calling the RPC handler exactly as the worker would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stopbox.harness.lm import LanguageModel, LMResponse
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox._base import (
    ExecResult,
    Job,
    Proxy,
    RpcError,
    RpcHandler,
    Sandbox,
    Status,
)

Rpc = Callable[[str, str, Sequence[Any], Mapping[str, Any]], Any]


def quality(source: str) -> float:
    m = re.search(r"q=([0-9.]+)", source)
    return float(m.group(1)) if m else 0.0


def solution(q: float, tag: str = "") -> str:
    return f"# fake-solution: q={q:.2f} {tag}\ndef algorithm(*a):\n    return 0\n"


def improver(strategy: str, q: float = 0.0, extra: str = "") -> str:
    head = f"# fake-improver: {strategy} q={q:.2f} {extra}\n"
    return head + "def improve_algorithm(s, u, lm):\n    return s\n"


def _improve(strategy: str, initial: str, rpc: Rpc, kwargs: Mapping[str, Any]) -> Any:
    if strategy == "identity":
        return initial
    if strategy == "crash":
        raise RuntimeError("boom")
    if strategy == "unsandboxed":
        rpc("utility", "__call__", [initial], {"use_sandbox": False})
        return initial
    if strategy == "tamper":
        try:
            rpc("utility", "__setattr__", ["budget", 10**6], {})
        except RpcError:
            pass
        return initial
    n = 3 if strategy == "best_of_n" else 1
    texts = rpc("language_model", "batch_prompt", ["expert", [initial] * n], {"temperature": 0.7})
    best, best_u = initial, float("-inf")
    for text in texts:
        u = rpc("utility", "__call__", [text], {"use_sandbox": True})
        if u > best_u:
            best, best_u = text, u
    return best


class FakeJob(Job):
    def __init__(self, sandbox: FakeSandbox, source: str, rpc: RpcHandler | None) -> None:
        self.sandbox, self.source, self.rpc = sandbox, source, rpc
        ok = source.startswith("# fake-")
        self.load_result = ExecResult(
            Status.OK if ok else Status.ERROR,
            error=None if ok else "SyntaxError: not a fake program",
        )
        self.results: list[ExecResult] = [self.load_result]

    def call(
        self,
        entry: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        with self.sandbox.lock:
            self.sandbox.calls += 1
        head = self.source.splitlines()[0]
        try:
            if head.startswith("# fake-improver:"):
                assert isinstance(args[1], Proxy) and isinstance(args[2], Proxy)
                strategy = head.split(":", 1)[1].split()[0]

                def rpc(obj: str, method: str, a: Sequence[Any], kw: Mapping[str, Any]) -> Any:
                    assert self.rpc is not None
                    return self.rpc(obj, method, a, kw)

                value = _improve(strategy, args[0], rpc, kwargs or {})
            else:
                value = quality(self.source)
            result = ExecResult(Status.OK, value=value, wall_s=0.001)
        except RpcError as exc:
            result = ExecResult(Status.ERROR, error=f"{exc.kind}: {exc}", wall_s=0.001)
        except RuntimeError as exc:
            result = ExecResult(Status.ERROR, error=f"RuntimeError: {exc}", wall_s=0.001)
        self.results.append(result)
        return result

    def close(self) -> ExecResult:
        return self.results[-1]


class FakeSandbox(Sandbox):
    name = "fake"

    def __init__(self, policy: Policy | None = None) -> None:
        super().__init__(policy or Policy())
        self.lock = threading.Lock()
        self.jobs = 0
        self.calls = 0

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def start(self) -> None:
        pass

    def job(
        self,
        source: str,
        *,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        as_script: bool = False,
    ) -> Job:
        with self.lock:
            self.jobs += 1
        return FakeJob(self, source, rpc)

    def close(self) -> None:
        pass


@dataclass
class FakeScore:
    utility: float
    reason: str = ""
    calls: int = 1
    wall_s: float = 0.001
    results: list[ExecResult] = field(default_factory=list)


@dataclass
class FakeTask:
    name: str = "fake"
    utility_str: str = "def utility(algorithm_str): ..."
    seed_algorithm: str = field(default_factory=lambda: solution(0.3, "seed"))
    evaluated: list[tuple[str, str, int]] = field(default_factory=list)

    def evaluate(
        self, sandbox: Sandbox, solution_source: str, *, split: str, seed: int
    ) -> FakeScore:
        self.evaluated.append((solution_source, split, seed))
        result = sandbox.exec(solution_source, entry="algorithm")
        value = result.value if isinstance(result.value, float) else 0.0
        return FakeScore(min(1.0, value + (seed % 7) / 100), results=[result])


class FakeLM(LanguageModel):
    """Proposes better variants of whatever program it is shown, deterministically per seed."""

    is_synthetic = True
    model = "fake"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.calls = 0

    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        self.calls += 1
        texts, labels = [], []
        for i, message in enumerate(messages):
            for j in range(n):
                k = (self.seed + 31 * self.calls + 7 * i + j) % 5
                q = min(1.0, quality(message) + 0.05 * k)
                if message.startswith("# fake-improver:"):
                    texts.append(improver("best_of_n", q, f"v{k}"))
                else:
                    texts.append(solution(q, f"v{k}"))
                labels.append({"kind": "solution", "injected": []})
        return LMResponse(
            tuple(texts), prompt_tokens=10, completion_tokens=20, model="fake", labels=tuple(labels)
        )


def no_findings(source: str, path: str) -> list[dict[str, Any]]:
    return []


def flag_marked(source: str, path: str) -> list[dict[str, Any]]:
    """A scanner that flags programs containing ``BAD`` as a high sandbox-bypass finding."""
    if "BAD" not in source:
        return []
    return [
        {
            "rule_id": "SB001",
            "name": "fake",
            "category": "sandbox-bypass",
            "severity": "high",
            "confidence": "high",
            "line": 1,
            "col": 0,
            "message": "marked bad",
            "fingerprint": "fp-bad",
        }
    ]


def no_runtime(result: ExecResult, path: str) -> list[dict[str, Any]]:
    return []
