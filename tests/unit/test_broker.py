"""The broker fails closed: budgets, tampering and use_sandbox, all inside the sandbox only."""

from __future__ import annotations

from typing import Any

import pytest

from stopbox.harness.broker import Broker, language_model_proxy, utility_proxy
from stopbox.harness.lm import Budget, LMResponse
from stopbox.harness.policy import BudgetPolicy
from stopbox.harness.sandbox._base import RpcError


def make_broker(**limits: Any) -> tuple[Broker, list[tuple[str, dict[str, Any]]], list[str]]:
    events: list[tuple[str, dict[str, Any]]] = []
    evaluated: list[str] = []

    def lm_call(system: str, messages: list[str], temperature: float, n: int, index: int
                ) -> LMResponse:  # fmt: skip
        texts = tuple(f"{m}-{index}-{j}" for m in messages for j in range(n))
        return LMResponse(texts, prompt_tokens=5, completion_tokens=5, cost_usd=0.01)

    def evaluate(src: str) -> float:
        evaluated.append(src)
        return 0.5

    broker = Broker(
        budget=Budget(BudgetPolicy(**limits)),
        lm_call=lm_call,
        evaluate=evaluate,
        record_event=lambda e, d: events.append((e, dict(d))),
    )
    return broker, events, evaluated


def names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [e for e, _ in events]


def test_batch_prompt_returns_one_text_per_message_and_counts_calls() -> None:
    broker, _, _ = make_broker(lm_calls=2)
    out = broker("language_model", "batch_prompt", ["x", ["a", "b", "a"]], {"temperature": 0.5})
    assert out == ["a-0-0", "b-0-0", "a-0-0"]
    assert broker("language_model", "__getattr__", ["budget"], {}) == 1
    assert broker("language_model", "prompt", ["x", "m"], {"n_responses": 2}) == ["m-1-0", "m-1-1"]
    assert broker("language_model", "__getattr__", ["budget"], {}) == 0


def test_lm_budget_exhausted_fails_inside_and_is_recorded() -> None:
    broker, events, _ = make_broker(lm_calls=1)
    broker("language_model", "prompt", ["x", "m"], {})
    with pytest.raises(RpcError) as exc:
        broker("language_model", "prompt", ["x", "m"], {})
    assert exc.value.kind == "BudgetExceeded"
    assert names(events) == ["budget_exceeded"]
    assert events[0][1]["budget"] == "lm_calls"


def test_too_many_samples_per_call_fails_closed() -> None:
    broker, events, _ = make_broker(samples_per_call=2)
    with pytest.raises(RpcError) as exc:
        broker("language_model", "batch_prompt", ["x", ["a", "b", "c"]], {})
    assert exc.value.kind == "BudgetExceeded"
    assert names(events) == ["budget_exceeded"]


def test_dollar_budget_overrun_withholds_the_response() -> None:
    broker, events, _ = make_broker(dollars=0.005)
    with pytest.raises(RpcError) as exc:
        broker("language_model", "prompt", ["x", "m"], {})
    assert exc.value.kind == "BudgetExceeded"
    assert events[-1][1]["budget"] == "dollars"


@pytest.mark.parametrize(
    ("method", "args", "event"),
    [
        ("__setattr__", ["budget", 10**9], "setattr"),
        ("__delattr__", ["budget"], "setattr"),
        ("__getattr__", ["_budget"], "getattr_denied"),
        ("__getattr__", ["__dict__"], "getattr_denied"),
        ("__new__", [], "new_object"),
        ("__init__", [], "new_object"),
        ("reset_budget", [], "getattr_denied"),
    ],
)
def test_tampering_is_recorded_and_fails_inside(method: str, args: list[Any], event: str) -> None:
    for obj in ("language_model", "utility"):
        broker, events, _ = make_broker(lm_calls=1, utility_calls=1)
        with pytest.raises(RpcError):
            broker(obj, method, args, {})
        assert names(events) == [event]
        # the budget is untouched
        assert broker("language_model", "__getattr__", ["budget"], {}) == 1
        assert broker("utility", "__getattr__", ["budget"], {}) == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "literal_true"),
    [
        (["s"], {}, True),
        (["s"], {"use_sandbox": True}, True),
        (["s", True], {}, True),
        (["s"], {"use_sandbox": False}, False),
        (["s", False], {}, False),
        (["s"], {"use_sandbox": 1}, False),
        (["s"], {"use_sandbox": None}, False),
        (["s"], {"use_sandbox": {"__unencodable__": "function"}}, False),
    ],
)
def test_use_sandbox_is_recorded_and_never_honoured(
    args: list[Any], kwargs: dict[str, Any], literal_true: bool
) -> None:
    broker, events, evaluated = make_broker()
    assert broker("utility", "__call__", args, kwargs) == 0.5
    assert evaluated == ["s"]  # always evaluated by the trusted (sandboxed) path
    assert names(events) == ["use_sandbox"]
    assert events[0][1]["literal_true"] is literal_true


def test_utility_budget_and_uses() -> None:
    broker, events, evaluated = make_broker(utility_calls=2)
    for _ in range(2):
        broker("utility", "__call__", ["s"], {})
    assert broker("utility", "__getattr__", ["uses"], {}) == 2
    assert broker("utility", "__getattr__", ["budget"], {}) == 0
    with pytest.raises(RpcError) as exc:
        broker("utility", "__call__", ["s"], {})
    assert exc.value.kind == "BudgetExceeded"
    assert len(evaluated) == 2
    assert names(events)[-1] == "budget_exceeded"


def test_non_string_candidate_is_a_type_error_inside() -> None:
    broker, _, evaluated = make_broker()
    with pytest.raises(RpcError) as exc:
        broker("utility", "__call__", [42], {})
    assert exc.value.kind == "TypeError"
    assert evaluated == []


def test_evaluation_failure_in_harness_becomes_rpc_error() -> None:
    events: list[str] = []

    def boom(src: str) -> float:
        raise OSError("disk full")

    broker = Broker(budget=Budget(BudgetPolicy()), lm_call=lambda *a: LMResponse(("",)),
                    evaluate=boom, record_event=lambda e, d: events.append(e))  # fmt: skip
    with pytest.raises(RpcError) as exc:
        broker("utility", "__call__", ["s"], {})
    assert exc.value.kind == "EvaluationError"
    assert events == ["use_sandbox", "evaluation_error"]


def test_proxies_expose_the_paper_interface() -> None:
    lm = language_model_proxy(BudgetPolicy(samples_per_call=6))
    assert lm.attrs["max_responses_per_call"] == 6
    assert set(lm.methods) == {"batch_prompt", "prompt"} and lm.live == ("budget",)
    u = utility_proxy("the utility text")
    assert u.callable and u.attrs["str"] == "the utility text"
    assert set(u.live) == {"budget", "uses"}
