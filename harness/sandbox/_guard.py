"""The harness's own limits on one job: byte and count budgets, and checks of every frame field.

Everything a job sends reaches the harness through its worker, and the worker relays some of it
as is (a result's value, error text, event contents).  :class:`JobGuard` is the trusted side's
last word on it: RPC calls and bytes, events and violations (count and bytes) and output are
budgeted per job; a result whose fields have the wrong type or a value the codec rejects is a
protocol violation.  Reaching a budget is itself a violation, so a job can never end ``ok`` after
it flooded the monitor.  Nothing here raises on hostile input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stopbox.harness.sandbox import _codec
from stopbox.harness.sandbox._base import Status

__all__ = ["Budgets", "JobGuard", "HOOK_EVENT_CAP"]

HOOK_EVENT_CAP = 500
"""Events the in-job audit hook sends at most (worker/_audit.py ``_MAX_EVENTS``); a job that
reached it has gone unobserved since, which is a violation."""


@dataclass(frozen=True, slots=True)
class Budgets:
    """Per-job limits enforced in the harness (on top of the worker's own)."""

    rpc_calls: int = 4096
    rpc_bytes: int = 64 << 20
    """RPC requests from the job plus the harness's replies."""
    events: int = 1000
    event_bytes: int = 1 << 20
    """Events and worker-reported violations together (JSON bytes)."""
    output_factor: int = 4
    """stdout+stderr may be at most this many times the policy's output cap (escapes)."""


def _size(value: Any) -> int:
    try:
        return len(json.dumps(value, default=str))
    except (ValueError, TypeError, RecursionError):
        return 1 << 30


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else 0.0


class JobGuard:
    """Budgets and frame checks for one job; :attr:`violations` are the harness's findings."""

    def __init__(self, budgets: Budgets, output_cap: int) -> None:
        self.budgets = budgets
        self.output_limit = max(1024, output_cap * budgets.output_factor + 1024)
        self.rpc_calls = 0
        self.rpc_bytes = 0
        self.events = 0
        self.audit_events = 0
        self.event_bytes = 0
        self.violations: list[dict[str, Any]] = []
        self._said: set[str] = set()
        self.rpc_refused = False

    def violation(self, kind: str, detail: str, key: str | None = None) -> None:
        """Record a harness-side violation once per ``key`` (default: kind)."""
        key = key or kind
        if key not in self._said:
            self._said.add(key)
            self.violations.append({"kind": kind, "detail": detail, "source": "harness"})

    @property
    def violated(self) -> bool:
        return bool(self.violations)

    # --- RPC -----------------------------------------------------------------------------------
    def admit_rpc(self, frame_size: int) -> bool:
        """Count one RPC request; False once the job is over its RPC budget (not answered)."""
        self.rpc_calls += 1
        self.rpc_bytes += frame_size
        b = self.budgets
        if self.rpc_calls > b.rpc_calls or self.rpc_bytes > b.rpc_bytes:
            self.violation(
                "budget",
                f"RPC budget exceeded ({self.rpc_calls} calls, {self.rpc_bytes} bytes; "
                f"at most {b.rpc_calls} calls and {b.rpc_bytes} bytes per job); "
                "further calls are not answered",
                "rpc",
            )
            self.rpc_refused = True
        return not self.rpc_refused

    def reply_fits(self, reply_size: int) -> bool:
        self.rpc_bytes += reply_size
        if self.rpc_bytes > self.budgets.rpc_bytes:
            self.violation(
                "budget",
                f"RPC replies exceed the job's {self.budgets.rpc_bytes} byte budget",
                "rpc",
            )
            return False
        return True

    # --- events ----------------------------------------------------------------------------------
    def take_events(self, items: Any, what: str) -> list[dict[str, Any]]:
        """The well-formed events (or worker violations) of a frame that fit the budget."""
        if items is None:
            return []
        if not isinstance(items, list):
            self.violation("protocol", f"{what} of a frame is not a list", f"protocol-{what}")
            return []
        kept = []
        b = self.budgets
        for item in items:
            if not isinstance(item, dict) or not all(isinstance(k, str) for k in item):
                self.violation("protocol", f"malformed entry in {what}", f"protocol-{what}")
                continue
            self.events += 1
            self.event_bytes += _size(item)
            if item.get("kind") == "audit":
                self.audit_events += 1
            if self.events > b.events or self.event_bytes > b.event_bytes:
                self.violation(
                    "event_cap",
                    f"event cap reached ({b.events} events or {b.event_bytes} bytes per job); "
                    "later events were dropped",
                )
                continue
            kept.append(item)
        if self.audit_events >= HOOK_EVENT_CAP:
            self.violation(
                "event_cap",
                f"the audit hook's event cap ({HOOK_EVENT_CAP}) was reached; "
                "the job was unobserved after it",
                "hook_cap",
            )
        return kept

    # --- results ---------------------------------------------------------------------------------
    def result_fields(self, res: Any, default_status: str = "error") -> dict[str, Any]:
        """An ExecResult's fields from a worker's result mapping; malformed parts -> violations.

        ``default_status`` stands in when the frame has none (the ``closed`` frame)."""
        if not isinstance(res, Mapping):
            self.violation("protocol", "result is not an object", "protocol-result")
            res = {}
        raw_status = res.get("status", default_status)
        try:
            status = Status(raw_status) if isinstance(raw_status, str) else None
        except ValueError:
            status = None
        if status is None:
            self.violation("protocol", f"result status is not one of {[s.value for s in Status]}")
            status = Status.VIOLATION
        try:
            value = _codec.decode(res.get("value"))
        except _codec.FrameError as exc:
            self.violation("protocol", f"result value rejected: {exc}", "protocol-value")
            value = None
        error = res.get("error")
        if error is not None and not isinstance(error, str):
            self.violation("protocol", "result error is not text", "protocol-error")
            error = str(error)[:2000]
        out, err = res.get("stdout", ""), res.get("stderr", "")
        if not isinstance(out, str) or not isinstance(err, str):
            self.violation("protocol", "output is not text", "protocol-output")
            out, err = str(out)[: self.output_limit], str(err)[: self.output_limit]
        if len(out) + len(err) > self.output_limit:
            self.violation("budget", f"output beyond {self.output_limit} characters", "output")
            out = out[: self.output_limit]
            err = err[: max(0, self.output_limit - len(out))]
        return {
            "status": status,
            "value": value,
            "stdout": out,
            "stderr": err,
            "wall_s": _number(res.get("wall_s")),
            "cpu_s": _number(res.get("cpu_s")),
            "max_rss_mb": _number(res.get("max_rss_mb")),
            "error": error,
            "truncated": res.get("truncated") is True,
        }

    def verdict(self, status: Status) -> Status:
        """A job the harness found violating cannot end ok (or as a mere error)."""
        if self.violated and status in (Status.OK, Status.ERROR):
            return Status.VIOLATION
        return status
