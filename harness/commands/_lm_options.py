"""What ``run``, ``transfer`` and ``study`` share about the language model: ``--base-url``,
``--max-concurrency``, the check at start, the price notice, and progress off a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from stopbox.harness.errors import UsageError
from stopbox.harness.policy import Policy

__all__ = ["prepare_lm", "apply_base_url", "check_concurrency", "PlainProgress"]

BASE_URL_HELP = "OpenAI-compatible server URL (beside OPENAI_BASE_URL; the flag wins)"
CONCURRENCY_HELP = "LM requests in flight at most (overrides the policy; --jobs stays evaluations)"


def apply_base_url(base_url: str | None) -> str | None:
    if base_url is None:
        return None
    from stopbox.harness.lm.openai_backend import set_base_url

    return set_base_url(base_url)


def check_concurrency(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise UsageError(f"--max-concurrency {value}: expected an integer >= 1")
    return value


def _say(message: str) -> None:
    print(f"stopbox: {message}", file=sys.stderr, flush=True)


def prepare_lm(
    spec: str, seed: int, policy: Policy | None = None, *, check: bool = True
) -> dict[str, Any]:
    """Make the LM once before any work: a bad spec, cassette, key, URL or model name fails here
    (exit 2), with the server's /v1/models checked.  Returns the ``lm`` table of the run config."""
    from stopbox.harness.lm import get_lm

    lm = get_lm(spec, seed=seed)
    try:
        warnings = lm.preflight() if check else []
        for warning in warnings:
            _say(f"warning: {warning}")
        info: dict[str, Any] = {
            "spec": spec,
            "synthetic": bool(lm.is_synthetic),
            "label": lm.label,
            "model": lm.model,
            "priced": bool(lm.priced),
        }
        url = getattr(lm, "url", None)
        if url and not lm.is_synthetic:
            info["base_url"] = url
        if warnings:
            info["warnings"] = warnings
        if not lm.priced and not lm.is_synthetic:
            note = (
                f"model {lm.model!r} has no known price: tokens are counted, no dollar figure is"
                " shown (set one with ?price_in=..&price_out=.. on the spec, USD per 1M tokens)"
            )
            if policy is not None:
                dollars = [f"dollars = ${policy.budget.dollars:g} per improver run"]
                if policy.budget.run_dollars:
                    dollars.append(f"run_dollars = ${policy.budget.run_dollars:g}")
                note += (
                    "; the dollar budget (" + ", ".join(dollars) + ") cannot be enforced, while"
                    " the call and token budgets still hold"
                )
                info["dollar_budget"] = "not enforced: unpriced model"
            _say(note)
            info["price_note"] = note
        return info
    finally:
        lm.close()


class PlainProgress:
    """Progress as periodic plain lines on stderr when it is not a terminal (logs, CI)."""

    def __init__(
        self, what: str, *, every_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what, self.every_s, self._clock = what, every_s, clock
        self._started = clock()
        self._last = self._started

    def update(self, text: str, *, force: bool = False) -> None:
        now = self._clock()
        if force or now - self._last >= self.every_s:
            self._last = now
            elapsed = int(now - self._started)
            _say(f"{self.what}: {text} ({elapsed // 60:d}:{elapsed % 60:02d} elapsed)")
