"""Token prices (USD per 1M tokens) from ``harness/lm/pricing.toml``, and cost of one call."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog

from stopbox.harness.errors import LMError

__all__ = ["ModelPrice", "Pricing", "PRICING_FILE", "load_pricing"]

PRICING_FILE = Path(__file__).resolve().parent / "pricing.toml"
_log = structlog.get_logger("stopbox.harness.lm.pricing")
_WARNED: set[tuple[str, str]] = set()


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_per_million: float
    output_per_million: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class Pricing:
    """Prices by model name; a dated snapshot uses the longest known name it starts with."""

    models: dict[str, ModelPrice] = field(default_factory=dict)
    source: str = "<builtin>"
    unknown_model: Literal["zero", "error"] = "zero"
    """``zero``: unknown models cost 0 and log ``lm.pricing.unknown_model``; ``error``: raise."""

    def price(self, model: str) -> ModelPrice | None:
        if model in self.models:
            return self.models[model]
        prefixes = [name for name in self.models if model.startswith(name + "-")]
        return self.models[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.price(model)
        if price is None:
            if self.unknown_model == "error":
                raise LMError(f"no price for model {model!r} in {self.source}")
            if (model, self.source) not in _WARNED:  # once per model, not on every call
                _WARNED.add((model, self.source))
                _log.warning("lm.pricing.unknown_model", model=model, pricing=self.source)
            return 0.0
        return price.cost(prompt_tokens, completion_tokens)


def load_pricing(
    path: Path | None = None, *, unknown_model: Literal["zero", "error"] = "zero"
) -> Pricing:
    """Read and validate a pricing table; errors name the file and the model."""
    path = path or PRICING_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LMError(f"{path}: cannot read pricing table: {exc}") from None
    table = data.get("models", {})
    if not isinstance(table, dict):
        raise LMError(f"{path}: models: expected a table of [models.<name>]")
    models: dict[str, ModelPrice] = {}
    for name, row in table.items():
        if not isinstance(row, dict) or set(row) != {"input", "output"}:
            raise LMError(f"{path}: models.{name}: expected exactly input and output (USD per 1M)")
        values = [row["input"], row["output"]]
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values
        ):
            raise LMError(f"{path}: models.{name}: prices must be numbers >= 0")
        models[name] = ModelPrice(float(row["input"]), float(row["output"]))
    return Pricing(models=models, source=str(path), unknown_model=unknown_model)
