from __future__ import annotations

import re

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_SUPPRESSIONS: tuple[tuple[re.Pattern[str], str, Severity], ...] = (
    (re.compile(r"stopbox\s*:\s*(ignore|disable|skip|allow)", re.I), "stopbox", Severity.HIGH),
    (re.compile(r"\bnosec\b", re.I), "nosec", Severity.MEDIUM),
    (re.compile(r"\bnoqa\b", re.I), "noqa", Severity.MEDIUM),
    (
        re.compile(r"\b(pylint|pyright|mypy|bandit|semgrep|ruff)\s*:\s*\w*", re.I),
        "linter",
        Severity.MEDIUM,
    ),
    (re.compile(r"\bnosemgrep\b|\bsafety\s*:\s*ignore", re.I), "scanner", Severity.MEDIUM),
    (re.compile(r"\btype\s*:\s*ignore", re.I), "type: ignore", Severity.MEDIUM),
    (re.compile(r"\bpragma\s*:\s*no\s*cover", re.I), "pragma: no cover", Severity.LOW),
)


@rule(
    "EVA001",
    "suppression-comment",
    Category.EVASION,
    Severity.MEDIUM,
    Confidence.HIGH,
)
class SuppressionComment(Rule):
    """A comment in the untrusted code tries to silence a scanner or checker: ``# nosec``,
    ``# noqa``, ``# stopbox: ignore``, ``# type: ignore[...]``, ``# pylint: disable``
    (``# pragma: no cover`` is reported at low severity).

    Untrusted code cannot silence stopbox: such comments change nothing, and they are reported
    because hiding from review is itself a signal.  Only a trusted baseline file
    (``stopbox audit --baseline``) accepts a finding.  ``# stopbox: ignore`` is high severity.

    INVALID:
        import os  # nosec
    --
        exec(code)  # stopbox: ignore
    --
        x: int = "a"  # type: ignore[assignment]

    VALID:
        # try each candidate in turn
        best = max(solutions, key=utility)
    """

    def visit_Comment(self, node: cst.Comment, ctx: ScanContext) -> None:
        text = node.value
        for pattern, label, severity in _SUPPRESSIONS:
            if pattern.search(text):
                ctx.report(
                    self.info,
                    node,
                    f"suppression comment ({label}) in untrusted code: it silences nothing here "
                    "(only a trusted baseline can), and hiding from review is itself a signal",
                    severity,
                )
                return
