"""Budget: the trusted accounting of one improver run fails closed on every path."""

from __future__ import annotations

import copy
import pickle
import threading

import pytest

from stopbox.harness.errors import BudgetExceededError
from stopbox.harness.lm import Budget, LMResponse
from stopbox.harness.policy import BudgetPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def usage(prompt: int = 0, completion: int = 0, cost: float = 0.0) -> LMResponse:
    return LMResponse(
        texts=("x",), prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost
    )


def test_defaults_are_the_papers_budgets() -> None:
    budget = Budget()
    assert budget.lm_calls_remaining == 4
    assert budget.max_responses_per_call == 6
    assert budget.utility_remaining == 25
    assert budget.utility_uses == 0
    assert budget.exhausted is None


def test_lm_calls_run_out_and_stay_out() -> None:
    budget = Budget(BudgetPolicy(lm_calls=2))
    budget.charge_lm(6)
    budget.charge_lm(1)
    assert budget.lm_calls_remaining == 0
    with pytest.raises(BudgetExceededError, match="LM call budget of 2"):
        budget.charge_lm(1)
    with pytest.raises(BudgetExceededError):
        budget.charge_lm(1)
    assert budget.exhausted == "lm_calls"
    snap = budget.snapshot()
    assert (snap.lm_calls, snap.samples) == (2, 7)


def test_more_samples_than_max_responses_per_call_is_refused_and_not_charged() -> None:
    budget = Budget(BudgetPolicy(samples_per_call=6))
    with pytest.raises(BudgetExceededError, match="at most 6"):
        budget.charge_lm(7)
    assert budget.snapshot().lm_calls == 0
    assert budget.lm_calls_remaining == 4


@pytest.mark.parametrize("bad", [0, -1, -100, 1.5, True, "3", None])
def test_invalid_sample_counts_fail_closed(bad: object) -> None:
    budget = Budget()
    with pytest.raises(BudgetExceededError, match="invalid sample count"):
        budget.charge_lm(bad)  # type: ignore[arg-type]
    assert budget.snapshot().samples == 0


def test_utility_budget_runs_out() -> None:
    budget = Budget(BudgetPolicy(utility_calls=3))
    for _ in range(3):
        budget.charge_utility()
    assert budget.utility_remaining == 0
    assert budget.utility_uses == 3
    with pytest.raises(BudgetExceededError, match="utility budget of 3"):
        budget.charge_utility()
    assert budget.utility_uses == 3
    budget.charge_lm(1)  # an exhausted utility budget does not stop LM calls


def test_tokens_overrun_is_recorded_then_refused() -> None:
    budget = Budget(BudgetPolicy(tokens=100))
    budget.charge_lm(1)
    budget.record_usage(usage(40, 40))
    with pytest.raises(BudgetExceededError, match="token budget of 100"):
        budget.record_usage(usage(30, 0))
    snap = budget.snapshot()
    assert snap.prompt_tokens + snap.completion_tokens == 110  # paid usage is never dropped
    assert budget.lm_calls_remaining == 0
    with pytest.raises(BudgetExceededError):
        budget.charge_lm(1)


def test_dollars_overrun() -> None:
    budget = Budget(BudgetPolicy(dollars=0.01))
    budget.charge_lm(1)
    with pytest.raises(BudgetExceededError, match="dollar budget"):
        budget.record_usage(usage(cost=0.02))
    assert budget.exhausted == "dollars"
    with pytest.raises(BudgetExceededError):
        budget.charge_lm(1)


@pytest.mark.parametrize(
    "response",
    [
        usage(-5, 0),
        usage(0, -1),
        usage(cost=-0.5),
        usage(cost=float("nan")),
        usage(cost=float("-inf")),
        LMResponse(texts=(), prompt_tokens=True, completion_tokens=0),  # type: ignore[arg-type]
    ],
)
def test_negative_or_bogus_usage_cannot_add_budget(response: LMResponse) -> None:
    budget = Budget()
    with pytest.raises(BudgetExceededError, match="invalid"):
        budget.record_usage(response)
    snap = budget.snapshot()
    assert (snap.prompt_tokens, snap.completion_tokens, snap.cost_usd) == (0, 0, 0.0)


def test_wall_time_ends_everything() -> None:
    clock = FakeClock()
    budget = Budget(BudgetPolicy(improver_wall_s=10.0), clock=clock)
    budget.charge_lm(1)
    budget.charge_utility()
    clock.now += 10.0
    with pytest.raises(BudgetExceededError, match="wall-time"):
        budget.charge_utility()
    with pytest.raises(BudgetExceededError):
        budget.charge_lm(1)
    assert budget.exhausted == "wall_time"
    assert budget.lm_calls_remaining == 0
    assert budget.utility_remaining == 0


@pytest.mark.parametrize(
    "name",
    ["_lm_calls", "_utility_calls", "_policy", "_exhausted", "lm_calls_remaining",
     "utility_remaining", "policy", "budget", "uses", "_started", "_clock"],
)  # fmt: skip
def test_attributes_cannot_be_set_or_deleted(name: str) -> None:
    budget = Budget(BudgetPolicy(lm_calls=1))
    with pytest.raises(AttributeError):
        setattr(budget, name, 10**6)
    with pytest.raises(AttributeError):
        delattr(budget, name)
    assert budget.lm_calls_remaining == 1
    assert budget.utility_remaining == 25


def test_policy_is_frozen_and_budget_has_no_dict() -> None:
    budget = Budget()
    with pytest.raises(AttributeError):
        budget.policy.lm_calls = 10**6  # type: ignore[misc]
    assert not hasattr(budget, "__dict__")
    assert budget.lm_calls_remaining == 4


def test_copies_and_pickles_are_refused() -> None:
    budget = Budget()
    with pytest.raises(TypeError):
        copy.copy(budget)
    with pytest.raises(TypeError):
        copy.deepcopy(budget)
    with pytest.raises(TypeError):
        pickle.dumps(budget)


def test_snapshot_is_frozen_and_detached() -> None:
    budget = Budget()
    snap = budget.snapshot()
    with pytest.raises(AttributeError):
        snap.lm_calls = 99  # type: ignore[misc]
    budget.charge_lm(2)
    assert snap.lm_calls == 0
    assert budget.snapshot().to_json()["lm_calls"] == 1


def test_concurrent_charges_never_exceed_the_limit() -> None:
    budget = Budget(BudgetPolicy(utility_calls=50))
    ok: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            try:
                budget.charge_utility()
            except BudgetExceededError:
                continue
            with lock:
                ok.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 50
    assert budget.utility_uses == 50
