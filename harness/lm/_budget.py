"""Trusted budget accounting of one improver run (DESIGN.md §2, §6).

The broker owns one :class:`Budget` per improver run and charges it *before* it does the work:
``charge_lm(n_samples)`` before an LM call, ``record_usage(response)`` after it (tokens and
dollars are only known then), ``charge_utility()`` before a utility evaluation.  Every method
raises :class:`~harness.errors.BudgetExceededError` when a limit is reached and stays exhausted
afterwards (fail closed).  Invalid charges (zero, negative, non-integer sample counts, negative
usage) also raise, so a caller can never *add* budget.  The object is sealed: its attributes
cannot be assigned or deleted, limits are read-only properties, and :meth:`snapshot` hands out a
frozen copy — the broker exposes only read access (``language_model.budget`` is
:attr:`lm_calls_remaining`, ``utility.budget`` is :attr:`utility_remaining`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stopbox.harness.errors import BudgetExceededError
from stopbox.harness.lm._base import LMResponse
from stopbox.harness.policy import BudgetPolicy

__all__ = ["Budget", "BudgetSnapshot"]


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    """A read-only copy of a budget's limits and usage."""

    lm_calls: int
    lm_calls_limit: int
    samples: int
    samples_per_call: int
    prompt_tokens: int
    completion_tokens: int
    tokens_limit: int
    cost_usd: float
    dollars_limit: float
    utility_calls: int
    utility_calls_limit: int
    wall_s: float
    wall_limit_s: float
    exhausted: str | None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class Budget:
    """LM calls, samples per call, tokens, dollars, utility calls and wall time of one run."""

    __slots__ = (
        "_policy",
        "_clock",
        "_started",
        "_lock",
        "_lm_calls",
        "_samples",
        "_prompt_tokens",
        "_completion_tokens",
        "_cost_usd",
        "_utility_calls",
        "_exhausted",
        "_sealed",
    )
    _policy: BudgetPolicy
    _clock: Callable[[], float]
    _started: float
    _lock: threading.Lock
    _lm_calls: int
    _samples: int
    _prompt_tokens: int
    _completion_tokens: int
    _cost_usd: float
    _utility_calls: int
    _exhausted: str | None
    _sealed: bool

    def __init__(
        self, policy: BudgetPolicy | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        init = object.__setattr__
        init(self, "_policy", policy or BudgetPolicy())
        init(self, "_clock", clock)
        init(self, "_started", clock())
        init(self, "_lock", threading.Lock())
        init(self, "_lm_calls", 0)
        init(self, "_samples", 0)
        init(self, "_prompt_tokens", 0)
        init(self, "_completion_tokens", 0)
        init(self, "_cost_usd", 0.0)
        init(self, "_utility_calls", 0)
        init(self, "_exhausted", None)
        init(self, "_sealed", True)

    # -- sealing: no attribute of a budget can be assigned or deleted from outside ----------
    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Budget is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Budget is read-only; cannot delete {name!r}")

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def __reduce__(self) -> Any:
        raise TypeError("a Budget cannot be pickled or copied")

    def __copy__(self) -> Budget:
        raise TypeError("a Budget cannot be copied; use snapshot()")

    def __deepcopy__(self, memo: object) -> Budget:
        raise TypeError("a Budget cannot be copied; use snapshot()")

    # -- read access -----------------------------------------------------------------------
    @property
    def policy(self) -> BudgetPolicy:
        return self._policy

    @property
    def max_responses_per_call(self) -> int:
        return self._policy.samples_per_call

    @property
    def lm_calls_remaining(self) -> int:
        """``language_model.budget``: LM calls left (0 once any LM limit is exhausted)."""
        if self._exhausted is not None and self._exhausted != "utility_calls":
            return 0
        return max(0, self._policy.lm_calls - self._lm_calls)

    @property
    def utility_remaining(self) -> int:
        """``utility.budget``: utility evaluations left (0 once wall time is exhausted)."""
        if self._exhausted in ("utility_calls", "wall_time"):
            return 0
        return max(0, self._policy.utility_calls - self._utility_calls)

    @property
    def utility_uses(self) -> int:
        """``utility.uses``: utility evaluations charged so far."""
        return self._utility_calls

    @property
    def wall_s(self) -> float:
        return self._clock() - self._started

    @property
    def exhausted(self) -> str | None:
        """Name of the first limit that ran out (``lm_calls``, ``tokens``, ...), or None."""
        return self._exhausted

    def snapshot(self) -> BudgetSnapshot:
        with self._lock:
            p = self._policy
            return BudgetSnapshot(
                lm_calls=self._lm_calls,
                lm_calls_limit=p.lm_calls,
                samples=self._samples,
                samples_per_call=p.samples_per_call,
                prompt_tokens=self._prompt_tokens,
                completion_tokens=self._completion_tokens,
                tokens_limit=p.tokens,
                cost_usd=self._cost_usd,
                dollars_limit=p.dollars,
                utility_calls=self._utility_calls,
                utility_calls_limit=p.utility_calls,
                wall_s=self.wall_s,
                wall_limit_s=p.improver_wall_s,
                exhausted=self._exhausted,
            )

    # -- charging (fail closed) ------------------------------------------------------------
    def _fail(self, budget: str, message: str) -> BudgetExceededError:
        if self._exhausted is None and budget != "invalid":
            self._set("_exhausted", budget)
        error = BudgetExceededError(message)
        error.budget = budget  # type: ignore[attr-defined]
        return error

    def _check_wall(self) -> None:
        if self.wall_s >= self._policy.improver_wall_s:
            raise self._fail(
                "wall_time", f"wall-time budget of {self._policy.improver_wall_s:g} s is exhausted"
            )

    def _check_lm_open(self) -> None:
        if self._exhausted is not None and self._exhausted != "utility_calls":
            raise BudgetExceededError(f"LM budget is exhausted ({self._exhausted})")
        self._check_wall()
        p = self._policy
        if self._lm_calls >= p.lm_calls:
            raise self._fail("lm_calls", f"LM call budget of {p.lm_calls} calls is exhausted")
        if self._prompt_tokens + self._completion_tokens >= p.tokens:
            raise self._fail("tokens", f"token budget of {p.tokens} tokens is exhausted")
        if self._cost_usd >= p.dollars:
            raise self._fail("dollars", f"dollar budget of ${p.dollars:g} is exhausted")

    def charge_lm(self, n_samples: int) -> None:
        """Charge one LM call of ``n_samples`` samples, before the call is made."""
        with self._lock:
            if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
                raise self._fail("invalid", f"invalid sample count {n_samples!r}")
            if n_samples > self._policy.samples_per_call:
                raise self._fail(
                    "invalid",
                    f"{n_samples} samples requested; at most {self._policy.samples_per_call}"
                    " per call (max_responses_per_call)",
                )
            self._check_lm_open()
            self._set("_lm_calls", self._lm_calls + 1)
            self._set("_samples", self._samples + n_samples)

    def record_usage(self, response: LMResponse) -> None:
        """Add a response's tokens and cost; raise if that overran the token or dollar limit.

        The call has been paid for, so the usage is always recorded; when it pushed the run over
        a limit the broker must not hand the response to the improver (fail closed).
        """
        with self._lock:
            tokens = (response.prompt_tokens, response.completion_tokens)
            if not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in tokens):
                raise self._fail("invalid", f"invalid token counts {tokens!r}")
            cost = response.cost_usd
            if not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
                raise self._fail("invalid", f"invalid cost {cost!r}")
            self._set("_prompt_tokens", self._prompt_tokens + tokens[0])
            self._set("_completion_tokens", self._completion_tokens + tokens[1])
            self._set("_cost_usd", self._cost_usd + float(cost))
            p = self._policy
            if self._prompt_tokens + self._completion_tokens > p.tokens:
                raise self._fail("tokens", f"token budget of {p.tokens} tokens exceeded")
            if self._cost_usd > p.dollars:
                raise self._fail("dollars", f"dollar budget of ${p.dollars:g} exceeded")

    def charge_utility(self) -> None:
        """Charge one utility evaluation, before it runs."""
        with self._lock:
            self._check_wall()
            if self._utility_calls >= self._policy.utility_calls:
                raise self._fail(
                    "utility_calls",
                    f"utility budget of {self._policy.utility_calls} calls is exhausted",
                )
            self._set("_utility_calls", self._utility_calls + 1)

    def __repr__(self) -> str:
        p = self._policy
        return (
            f"<Budget lm {self._lm_calls}/{p.lm_calls} utility {self._utility_calls}/"
            f"{p.utility_calls} tokens {self._prompt_tokens + self._completion_tokens}/{p.tokens}"
            f" ${self._cost_usd:.4f}/{p.dollars:g}>"
        )
