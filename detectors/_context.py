"""Per-scan state shared by the rules: name resolution, candidate-text taint, raw findings.

Names are resolved through imports and assignments seen so far in the file (flow-insensitive,
every scope at once: a conservative choice for untrusted code).  ``import os as o`` makes
``o.system`` resolve to ``os.system``; ``u = utility`` makes ``u`` resolve to ``utility``;
``from functools import partial as p`` makes ``p`` resolve to ``functools.partial``; and
``builtins.exec`` resolves to ``exec``.  This replaces libcst's ScopeProvider /
QualifiedNameProvider, which cost 2-3x the parse itself (measured in bench/audit.py's notes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from stopbox.detectors._types import RuleInfo, Severity

__all__ = ["ScanContext", "RawFinding", "SANDBOXED_CALLABLES", "BROKER_NAMES", "literal_value"]

SANDBOXED_CALLABLES = frozenset({"utility", "run", "utility.__call__", "run_sandboxed"})
"""Names that evaluate a candidate in the sandbox (the brokered ``utility`` and ``run``)."""
BROKER_NAMES = frozenset({"utility", "language_model"})
"""The brokered objects an improver receives."""
CANDIDATE_PARAMS = frozenset(
    {"initial_solution", "solution", "algorithm_str", "candidate", "program", "new_solution"}
)
"""Parameter names that hold candidate program text."""
CANDIDATE_SOURCES = frozenset({"extract_code", "helpers.extract_code"})

_MISSING = object()


def literal_value(expr: cst.BaseExpression) -> object:
    """The Python value of a simple literal (bool/None/number/string/``not`` of one), else a
    sentinel ``_MISSING`` (use :func:`is_literal`)."""
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, cst.Integer | cst.Float):
        try:
            return int(expr.value.replace("_", ""), 0) if isinstance(expr, cst.Integer) else 1.0
        except ValueError:
            return _MISSING
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = literal_value(expr.expression)
        return _MISSING if inner is _MISSING else (not inner)
    return _MISSING


def is_literal(value: object) -> bool:
    return value is not _MISSING


@dataclass(slots=True)
class RawFinding:
    info: RuleInfo
    node: cst.CSTNode
    message: str
    severity: Severity
    stmt_path: tuple[int, ...]
    """Indexes of the enclosing statement through module/class/function bodies."""
    scope: str


@dataclass(slots=True)
class ScanContext:
    source: str
    allowed_imports: frozenset[str]
    module: cst.Module | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    tainted: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)
    """Local names bound by import statements."""
    scope: list[str] = field(default_factory=list)
    stmt_path: tuple[int, ...] = ()
    raw: list[RawFinding] = field(default_factory=list)
    _names: dict[int, str | None] = field(default_factory=dict)
    mentions_language_model: bool = False
    deferred: dict[str, list[Any]] = field(default_factory=dict)
    """Per-rule facts kept for ``Rule.finish`` (e.g. calls whose callee resolves later)."""

    def __post_init__(self) -> None:
        self.mentions_language_model = "language_model" in self.source

    # -- reporting --------------------------------------------------------------------------
    def report(
        self,
        info: RuleInfo,
        node: cst.CSTNode,
        message: str,
        severity: Severity | None = None,
        *,
        where: tuple[tuple[int, ...], str] | None = None,
    ) -> None:
        """Record a finding at ``node``; ``where`` (from :meth:`here`) for deferred reports."""
        path, scope = where if where is not None else self.here()
        self.raw.append(RawFinding(info, node, message, severity or info.severity, path, scope))

    def here(self) -> tuple[tuple[int, ...], str]:
        """Where the walk is now (statement path, scope), to report later from ``finish``."""
        return self.stmt_path, ".".join(self.scope)

    # -- names --------------------------------------------------------------------------------
    def qualname(self, expr: cst.BaseExpression) -> str | None:
        """Dotted name an expression refers to, through imports and aliases; None if unknown.

        Memoised per node: every rule asks about the same call's name at the same moment."""
        key = id(expr)
        if key in self._names:
            return self._names[key]
        name = self._qualname(expr)
        self._names[key] = name
        return name

    def _qualname(self, expr: cst.BaseExpression) -> str | None:
        if isinstance(expr, cst.Name):
            name = self.aliases.get(expr.value, expr.value)
        elif isinstance(expr, cst.Attribute):
            base = self.qualname(expr.value)
            if base is None:
                return None
            name = f"{base}.{expr.attr.value}"
        else:
            return None
        if name.startswith("builtins."):
            return name[len("builtins.") :]
        if name.startswith("__builtins__."):
            return name[len("__builtins__.") :]
        return name

    def call_name(self, call: cst.Call) -> str | None:
        return self.qualname(call.func)

    def is_sandboxed_callable(self, expr: cst.BaseExpression) -> bool:
        name = self.qualname(expr)
        return name in SANDBOXED_CALLABLES

    def is_broker(self, expr: cst.BaseExpression) -> bool:
        name = self.qualname(expr)
        return name is not None and name.split(".")[0] in BROKER_NAMES and "." not in name

    def module_of(self, name: str) -> str:
        return name.split(".")[0]

    def is_allowed_module(self, module: str) -> bool:
        top = module.split(".")[0]
        return top in self.allowed_imports or top == "__future__"

    # -- candidate text taint --------------------------------------------------------------------
    def is_tainted(self, expr: cst.CSTNode) -> bool:
        """Does ``expr`` carry candidate program text (a candidate parameter, LM output,
        ``extract_code(...)``, or a name assigned from one)?"""
        for node in _walk(expr):
            if isinstance(node, cst.Name) and node.value in self.tainted:
                return True
            if isinstance(node, cst.Call):
                name = self.qualname(node.func)
                if name is not None and (
                    name in CANDIDATE_SOURCES or name.startswith("language_model.")
                ):
                    return True
        return False

    def taint_targets(self, target: cst.CSTNode) -> None:
        for node in _walk(target):
            if isinstance(node, cst.Name):
                self.tainted.add(node.value)

    def code(self, node: cst.CSTNode) -> str:
        assert self.module is not None
        return self.module.code_for_node(node)


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    from stopbox.detectors._walk import child_nodes

    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child_nodes(current))
