"""get_lm, specs, default_lm_spec, request validation and pricing."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from stopbox.harness.errors import LMError, UsageError
from stopbox.harness.lm import LMResponse, default_lm_spec, get_lm, lm_backend_names
from stopbox.harness.lm.pricing import Pricing, load_pricing
from stopbox.harness.lm.synthetic import SyntheticLM


def test_builtin_backends_are_registered() -> None:
    assert {"openai", "replay", "synthetic"} <= set(lm_backend_names())


@pytest.mark.parametrize("spec", ["", "   ", "gpt4", "anthropic:claude", "synthetic:foo=1"])
def test_unknown_or_malformed_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError):
        get_lm(spec)


def test_synthetic_spec_options_and_seed() -> None:
    lm = get_lm("synthetic:red_team_rate=0.25", seed=7)
    assert isinstance(lm, SyntheticLM)
    assert (lm.red_team_rate, lm.seed) == (0.25, 7)
    assert lm.is_synthetic
    assert "not a language model" in lm.label
    assert lm.spec == "synthetic:red_team_rate=0.25"
    assert get_lm("synthetic").label == "synthetic (not a language model)"


@pytest.mark.parametrize("spec", ["synthetic:red_team_rate=1.5", "synthetic:red_team_rate=x"])
def test_bad_red_team_rate(spec: str) -> None:
    with pytest.raises(UsageError, match="red_team_rate"):
        get_lm(spec)


def test_default_spec_depends_on_the_key() -> None:
    assert default_lm_spec({}) == "synthetic"
    assert default_lm_spec({"OPENAI_API_KEY": ""}) == "synthetic"
    assert default_lm_spec({"OPENAI_API_KEY": "k"}) == "openai:gpt-4o-mini"
    assert default_lm_spec({"OPENAI_API_KEY": "k", "STOPBOX_LM_MODEL": "gpt-4o"}) == "openai:gpt-4o"


@pytest.mark.parametrize(
    ("messages", "temperature", "n", "match"),
    [
        ([], 0.5, 1, "empty"),
        ("a string", 0.5, 1, "list"),
        (["ok", 3], 0.5, 1, "string"),
        (["ok"], -0.1, 1, "temperature"),
        (["ok"], 2.5, 1, "temperature"),
        (["ok"], 0.5, 0, "n must"),
        (["ok"], 0.5, True, "n must"),
    ],
)
def test_malformed_requests_are_refused(
    messages: object, temperature: float, n: int, match: str
) -> None:
    with pytest.raises(LMError, match=match):
        SyntheticLM().complete("s", messages, temperature=temperature, n=n)  # type: ignore[arg-type]


def test_response_json() -> None:
    r = LMResponse(texts=("a",), prompt_tokens=2, completion_tokens=3, cost_usd=0.5, model="m",
                   labels=({"kind": "solution"},))  # fmt: skip
    assert r.total_tokens == 5
    assert r.to_json()["labels"] == [{"kind": "solution"}]


def test_pricing_exact_prefix_and_unknown() -> None:
    pricing = load_pricing()
    assert pricing.cost("gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    assert pricing.cost("gpt-4o-mini", 0, 1_000_000) == pytest.approx(0.60)
    # a dated snapshot takes the longest matching name (gpt-4o-mini, not gpt-4o)
    assert pricing.cost("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)
    assert pricing.cost("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.50)
    with capture_logs() as logs:
        assert pricing.cost("never-priced-model:7b", 1000, 1000) == 0.0
        assert pricing.cost("never-priced-model:7b", 5, 5) == 0.0
    warnings = [e for e in logs if e["event"] == "lm.pricing.unknown_model"]
    assert [e["model"] for e in warnings] == ["never-priced-model:7b"]  # once, not per call


def test_pricing_can_refuse_unknown_models() -> None:
    strict = Pricing(models=load_pricing().models, unknown_model="error")
    with pytest.raises(LMError, match="no price"):
        strict.cost("mystery", 1, 1)


@pytest.mark.parametrize(
    "text",
    ['[models."m"]\ninput = 1\n', '[models."m"]\ninput = -1\noutput = 1\n', "models = 3\n", "[[x"],
)
def test_malformed_pricing_tables(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pricing.toml"
    path.write_text(text)
    with pytest.raises(LMError, match=str(path)):
        load_pricing(path)


def test_a_response_round_trips_through_its_json() -> None:
    response = LMResponse(
        texts=("a", "b"),
        prompt_tokens=3,
        completion_tokens=4,
        cost_usd=0.5,
        model="m",
        labels=({"kind": "solution"}, {"kind": "improver"}),
        priced=False,
        requests=2,
    )
    assert LMResponse.from_json(response.to_json()) == response
    old = {"texts": ["x"], "prompt_tokens": 1, "completion_tokens": 2, "cost_usd": 0.0, "model": ""}
    assert LMResponse.from_json(old) == LMResponse(
        texts=("x",), prompt_tokens=1, completion_tokens=2
    )
