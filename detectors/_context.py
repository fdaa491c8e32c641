"""Per-scan state shared by the rules: name resolution, candidate-text taint, raw findings.

Names are resolved through imports and assignments seen so far in the file (flow-insensitive,
every scope at once: a conservative choice for untrusted code).  ``import os as o`` makes
``o.system`` resolve to ``os.system``; ``u = utility`` makes ``u`` resolve to ``utility``;
``from functools import partial as p`` makes ``p`` resolve to ``functools.partial``; and
``builtins.exec`` resolves to ``exec``.  This replaces libcst's ScopeProvider /
QualifiedNameProvider, which cost 2-3x the parse itself (measured in bench/audit.py's notes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from stopbox.detectors._flow_facts import FlowFacts
from stopbox.detectors._types import RuleInfo, Severity

__all__ = [
    "ScanContext", "RawFinding", "SANDBOXED_CALLABLES", "BROKER_NAMES", "literal_value", "nfkc",
    "is_literal", "MISSING",
]  # fmt: skip

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
FLOW_HINT = re.compile(r"utility|language_model|improve_algorithm|use_sandbox")
"""Files without these words have no capability to follow (the flow facts are not recorded)."""


_NOT_STRINGS = frozenset(
    {cst.Integer, cst.Float, cst.Imaginary, cst.Lambda, cst.Dict, cst.Set, cst.ListComp,
     cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Comparison, cst.UnaryOperation,
     cst.Attribute, cst.BooleanOperation, cst.Await, cst.Yield, cst.Ellipsis}
)  # fmt: skip
"""Expression types that are never a constant string here (skipped without evaluation)."""


def nfkc(text: str) -> str:
    """NFKC, as Python applies to identifiers (fullwidth ``ｅｘｅｃ`` is ``exec``)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def literal_value(expr: cst.BaseExpression) -> object:
    """The Python value of a simple literal (bool/None/number/string/``not`` of one), else a
    sentinel ``_MISSING`` (use :func:`is_literal`)."""
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, cst.Integer | cst.Float):
        try:
            text = expr.value.replace("_", "")
            return int(text, 0) if isinstance(expr, cst.Integer) else float(text)
        except ValueError:
            return _MISSING
    if isinstance(expr, cst.SimpleString):
        text = expr.value
        if text[0] in "'\"" and "\\" not in text:
            # no prefix, no escapes: the text between the quotes (literal_eval compiles)
            quote = text[:3] if text[:3] in ('"""', "'''") else text[0]
            return text[len(quote) : -len(quote)]
        return expr.evaluated_value
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = literal_value(expr.expression)
        return _MISSING if inner is _MISSING else (not inner)
    return _MISSING


MISSING = _MISSING


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
    surface_policy: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    """The policy's ``[imports] surface_allow`` and ``surface_deny`` entries."""
    aliases: dict[str, str] = field(default_factory=dict)
    tainted: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)
    """Local names bound by import statements."""
    scope: list[str] = field(default_factory=list)
    scope_kinds: list[str] = field(default_factory=list)
    """``function`` / ``class`` for each entry of ``scope``."""
    stmt_path: tuple[int, ...] = ()
    raw: list[RawFinding] = field(default_factory=list)
    _names: dict[int, str | None] = field(default_factory=dict)
    _strings: dict[int, str | None] = field(default_factory=dict)
    synthetic: dict[int, cst.CSTNode] = field(default_factory=dict)
    """Calls with unpacked displays expanded for the rules -> the original call node."""
    keep: list[cst.CSTNode] = field(default_factory=list)
    """Keeps synthetic nodes alive so their ids stay unique during the scan."""
    not_values: set[int] = field(default_factory=set)
    """Ids of Name nodes that are a call's callee, an attribute name or a keyword."""
    mentions_language_model: bool = False
    taint_sources: bool = False
    """Does the text mention a source of candidate text (``language_model``, ``extract_code``)?"""
    deferred: dict[str, list[Any]] = field(default_factory=dict)
    """Per-rule facts kept for ``Rule.finish`` (e.g. calls whose callee resolves later)."""
    bind_counts: dict[str, int] = field(default_factory=dict)
    """How many times each name is bound anywhere in the file (any binding form, any scope)."""
    const_exprs: dict[str, cst.BaseExpression] = field(default_factory=dict)
    """The value of the first plain ``name = value`` binding of each name."""
    module_derived: dict[str, str] = field(default_factory=dict)
    """Names assigned from an expression rooted in an imported module (``rng = random.Random()``),
    mapped to that root's qualified name."""
    for_iters: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    """The iterables of the ``for name in ...`` loops binding each name."""
    const_returns: dict[str, cst.BaseExpression] = field(default_factory=dict)
    """Functions whose body is a single ``return <expr>`` (helpers that hand out a path)."""
    mutated: set[str] = field(default_factory=set)
    """Names whose value may be changed in place (item/attribute writes, mutating methods,
    passed to a call): a container bound to one is not a constant."""
    flow: Any = None
    """:class:`~stopbox.detectors._flow_facts.FlowFacts` when the file mentions a capability."""
    flow_result: Any = None
    reported_nodes: dict[int, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mentions_language_model = "language_model" in self.source
        self.taint_sources = self.mentions_language_model or "extract_code" in self.source
        if FLOW_HINT.search(self.source):
            self.flow = FlowFacts()

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
        node = self.synthetic.get(id(node), node)
        path, scope = where if where is not None else self.here()
        self.raw.append(RawFinding(info, node, message, severity or info.severity, path, scope))
        self.reported_nodes.setdefault(id(node), set()).add(info.id)

    def already_reported(self, node: cst.CSTNode, rule_id: str) -> bool:
        return rule_id in self.reported_nodes.get(id(node), ())

    # -- constants ----------------------------------------------------------------------------
    def bind(self, name: str, value: cst.BaseExpression | None = None) -> None:
        """Count a binding of ``name`` (``value`` for a plain single-target assignment)."""
        count = self.bind_counts.get(name, 0)
        self.bind_counts[name] = count + 1
        if count == 0 and value is not None:
            self.const_exprs[name] = value

    def const_value(self, expr: cst.BaseExpression, depth: int = 0) -> object:
        """The value of a constant expression: literals, names bound once to one, ``+`` of
        strings or tuples, ``"".join`` of constants, f-strings of constants, ``chr``, reversed
        slices, tuples and lists of constants.  ``_MISSING`` when it is not one."""
        if depth > 12:
            return _MISSING
        value = literal_value(expr)
        if value is not _MISSING:
            return value
        if isinstance(expr, cst.ConcatenatedString):
            return expr.evaluated_value if expr.evaluated_value is not None else _MISSING
        if isinstance(expr, cst.Name):
            return self._const_name(expr, depth)
        if isinstance(expr, cst.Tuple | cst.List):
            return self._const_sequence(expr, depth)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
            return self._const_modulo(expr, depth)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            return self._const_add(expr, depth)
        if isinstance(expr, cst.FormattedString):
            return self._const_fstring(expr, depth)
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
            return self._const_subscript(expr, depth)
        if isinstance(expr, cst.Call):
            return self._const_call(expr, depth)
        return _MISSING

    def _const_name(self, expr: cst.Name, depth: int) -> object:
        """A name bound once to a constant (not a mutated container)."""
        if self.bind_counts.get(expr.value, 0) == 1 and expr.value in self.const_exprs:
            bound = self.const_exprs[expr.value]
            if expr.value in self.mutated and isinstance(bound, cst.List | cst.Dict | cst.Set):
                return _MISSING
            return self.const_value(bound, depth + 1)
        return _MISSING

    def _const_sequence(self, expr: cst.Tuple | cst.List, depth: int) -> object:
        """A tuple or list of constants (starred tuples spliced in), as a tuple."""
        out: list[object] = []
        for el in expr.elements:
            if isinstance(el, cst.StarredElement):
                inner = self.const_value(el.value, depth + 1)
                if not isinstance(inner, tuple):
                    return _MISSING
                out.extend(inner)
                continue
            v = self.const_value(el.value, depth + 1)
            if v is _MISSING:
                return _MISSING
            out.append(v)
        return tuple(out)

    def _const_modulo(self, expr: cst.BinaryOperation, depth: int) -> object:
        """``template % values`` of constants."""
        left = self.const_value(expr.left, depth + 1)
        right = self.const_value(expr.right, depth + 1)
        if isinstance(left, str) and right is not _MISSING:
            try:
                return left % right
            except (TypeError, ValueError, KeyError):
                return _MISSING
        return _MISSING

    def _const_add(self, expr: cst.BinaryOperation, depth: int) -> object:
        """``+`` of two strings or two tuples."""
        left = self.const_value(expr.left, depth + 1)
        right = self.const_value(expr.right, depth + 1)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, tuple) and isinstance(right, tuple):
            return left + right
        return _MISSING

    def _const_fstring(self, expr: cst.FormattedString, depth: int) -> object:
        """An f-string of constants (no conversion, no format spec)."""
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression):
                if part.format_spec or part.conversion:
                    return _MISSING
                v = self.const_value(part.expression, depth + 1)
                if v is _MISSING:
                    return _MISSING
                parts.append(str(v))
        return "".join(parts)

    def _const_subscript(self, expr: cst.Subscript, depth: int) -> object:
        """A constant slice or index of a constant string or tuple."""
        base = self.const_value(expr.value, depth + 1)
        index = expr.slice[0].slice
        if isinstance(base, str | tuple) and isinstance(index, cst.Slice):
            step = self.const_value(index.step, depth + 1) if index.step else None
            lower = self.const_value(index.lower, depth + 1) if index.lower else None
            upper = self.const_value(index.upper, depth + 1) if index.upper else None
            bounds = [v if isinstance(v, int) else None for v in (lower, upper, step)]
            if all(v is None or isinstance(v, int) for v in (step, lower, upper)):
                return base[slice(*bounds)]
        if isinstance(base, str | tuple) and isinstance(index, cst.Index):
            i = self.const_value(index.value, depth + 1)
            if isinstance(i, int) and -len(base) <= i < len(base):
                return base[i]
        return _MISSING

    def _const_call(self, expr: cst.Call, depth: int) -> object:
        """``.format``, ``.join``, ``lower/upper/strip``, ``bytes.decode``, ``chr``, ``str`` and
        ``tuple`` of constants."""
        func = expr.func
        args = [a for a in expr.args if a.keyword is None and not a.star]
        if len(args) != len(expr.args):
            return _MISSING
        if isinstance(func, cst.Attribute) and func.attr.value == "format":
            template = self.const_value(func.value, depth + 1)
            values = [self.const_value(a.value, depth + 1) for a in args]
            if isinstance(template, str) and all(v is not _MISSING for v in values):
                if "{" in template and "." not in template and "[" not in template:
                    try:
                        return template.format(*values)
                    except (IndexError, KeyError, ValueError):
                        return _MISSING
            return _MISSING
        if isinstance(func, cst.Attribute) and len(args) == 1:
            if func.attr.value == "join":
                sep = self.const_value(func.value, depth + 1)
                items = self.const_value(args[0].value, depth + 1)
                if isinstance(items, str):
                    items = tuple(items)
                if isinstance(sep, str) and isinstance(items, tuple):
                    if all(isinstance(i, str) for i in items):
                        return sep.join(items)
            return _MISSING
        if isinstance(func, cst.Attribute) and not args:
            base = self.const_value(func.value, depth + 1)
            if isinstance(base, str) and func.attr.value in ("lower", "upper", "strip"):
                return getattr(base, func.attr.value)()
            if isinstance(base, bytes) and func.attr.value == "decode":
                try:
                    return base.decode()
                except UnicodeDecodeError:
                    return _MISSING
            return _MISSING
        if isinstance(func, cst.Name) and len(args) == 1:
            v = self.const_value(args[0].value, depth + 1)
            if func.value == "chr" and isinstance(v, int) and 0 <= v < 0x110000:
                return chr(v)
            if func.value in ("str", "tuple") and isinstance(v, str | tuple):
                return v if func.value == "str" or isinstance(v, tuple) else tuple(v)
        return _MISSING

    def const_str(self, expr: cst.BaseExpression) -> str | None:
        """A constant string, NFKC-normalised (used as a name or path).  Memoised per node:
        several rules ask about the same argument."""
        key = id(expr)
        if key in self._strings:
            return self._strings[key]
        if type(expr) in _NOT_STRINGS:
            return None
        value = self.const_value(expr)
        text = nfkc(value) if isinstance(value, str) else None
        self._strings[key] = text
        return text

    def const_candidates(self, expr: cst.BaseExpression) -> list[str]:
        """Every constant string ``expr`` can be: a constant, each element of a constant sequence
        a loop variable runs over, or what a one-line helper function returns."""
        value = self.const_str(expr)
        if value is not None:
            return [value]
        if isinstance(expr, cst.Name) and expr.value in self.for_iters:
            out: list[str] = []
            for iterable in self.for_iters[expr.value]:
                seq = self.const_value(iterable)
                if isinstance(seq, tuple):
                    out.extend(nfkc(v) for v in seq if isinstance(v, str))
            return out
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and not expr.args:
            returned = self.const_returns.get(expr.func.value)
            if returned is not None and self.bind_counts.get(expr.func.value, 0) == 1:
                value = self.const_str(returned)
                if value is not None:
                    return [value]
        return []

    def const_elements(self, expr: cst.BaseExpression, depth: int = 0) -> list[Any] | None:
        """The element expressions of a list/tuple display (or a name bound once to one)."""
        if isinstance(expr, cst.Tuple | cst.List):
            if any(isinstance(el, cst.StarredElement) for el in expr.elements):
                return None
            return [el.value for el in expr.elements]
        if isinstance(expr, cst.Name) and depth < 6 and expr.value not in self.mutated:
            if self.bind_counts.get(expr.value, 0) == 1 and expr.value in self.const_exprs:
                return self.const_elements(self.const_exprs[expr.value], depth + 1)
        return None

    def const_mapping(self, expr: cst.BaseExpression, depth: int = 0) -> list[Any] | None:
        """(key, value expression) pairs of a dict display / ``dict(k=v)`` with constant keys."""
        if isinstance(expr, cst.Dict):
            pairs = []
            for el in expr.elements:
                if not isinstance(el, cst.DictElement):
                    return None
                key = self.const_str(el.key)
                if key is None:
                    return None
                pairs.append((key, el.value))
            return pairs
        if isinstance(expr, cst.Call) and self.call_name(expr) == "dict":
            pairs = []
            for arg in expr.args:
                if arg.keyword is None:
                    return None
                pairs.append((nfkc(arg.keyword.value), arg.value))
            return pairs
        if isinstance(expr, cst.Name) and depth < 6 and expr.value not in self.mutated:
            if self.bind_counts.get(expr.value, 0) == 1 and expr.value in self.const_exprs:
                return self.const_mapping(self.const_exprs[expr.value], depth + 1)
        return None

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
        if not self.tainted and not self.taint_sources:
            return False
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
