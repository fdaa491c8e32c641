from __future__ import annotations

import re

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_HIGH, _MEDIUM, _LOW, _I = Severity.HIGH, Severity.MEDIUM, Severity.LOW, re.I
_SUPPRESSIONS: tuple[tuple[re.Pattern[str], str, Severity], ...] = (
    # aimed at security scanners: evasion
    (re.compile(r"stopbox\W{0,3}(ignore|disable|skip|allow|off|nocheck)", _I), "stopbox", _HIGH),
    (re.compile(r"\bnosec\b", _I), "nosec", _MEDIUM),
    (re.compile(r"\bnosemgrep\b|\bsemgrep\s*:|\bbandit\s*:", _I), "semgrep/bandit", _MEDIUM),
    (re.compile(r"\bnoqa\s*:?[^#\n]*\bS\d{3}", _I), "noqa naming a security code", _MEDIUM),
    (re.compile(r"\bNOSONAR\b", _I), "NOSONAR", _MEDIUM),
    (re.compile(r"\blgtm\b", _I), "lgtm", _MEDIUM),
    (re.compile(r"\bcodeql\b", _I), "codeql", _MEDIUM),
    (re.compile(r"\bskipcq\b", _I), "skipcq", _MEDIUM),
    (re.compile(r"\bsafety\s*:\s*ignore|\bsnyk\b|\bcheckov\s*:", _I), "scanner", _MEDIUM),
    # type checkers and style linters: low
    (re.compile(r"\btype\s*:\s*ignore", _I), "type: ignore", _LOW),
    (re.compile(r"\bpyright\s*:\s*ignore|\bpyre-(ignore|fixme)|\bmypy\s*:", _I), "checker", _LOW),
    (re.compile(r"\b(pylint|ruff|flake8|pycodestyle|isort|fmt)\s*:", _I), "linter", _LOW),
    (re.compile(r"\bnoqa\b", _I), "noqa", _LOW),
    (re.compile(r"\bpragma\s*:\s*no\s*cover", _I), "pragma: no cover", _LOW),
)  # fmt: skip


@rule(
    "EVA001",
    "suppression-comment",
    Category.EVASION,
    Severity.MEDIUM,
    Confidence.HIGH,
)
class SuppressionComment(Rule):
    """A comment in the untrusted code tries to silence a security scanner: ``# nosec``,
    ``# nosemgrep``, ``# stopbox: ignore``, ``# noqa`` naming an ``S`` (bandit) code,
    ``NOSONAR``, ``lgtm``, ``codeql``, ``skipcq``.  Type-checker and style comments
    (``# type: ignore``, ``# pyright: ignore``, ``# pyre-ignore``, ``# pylint: disable``,
    ``# noqa`` without an ``S`` code, ``# pragma: no cover``) are reported at low severity.

    Untrusted code cannot silence stopbox: such comments change nothing, and comments aimed at
    security scanners are reported because hiding from review is itself a signal.  Only a
    trusted baseline file (``stopbox audit --baseline``) accepts a finding.  ``# stopbox:
    ignore`` is high severity; other security-scanner suppressions medium; typed code's
    ``# type: ignore`` is ordinary and stays low.

    INVALID:
        import os  # nosec
    --
        exec(code)  # stopbox: ignore
    --
        data = open(path).read()  # noqa: S108
    --
        value = eval(text)  # NOSONAR
    --
        run_it(code)  # lgtm[py/code-injection]

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
