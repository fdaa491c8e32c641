"""One parse, one combined pass: every static rule's handlers dispatched by node type.

Positions are computed only for files with findings, and only for the top-level statements that
contain one: the statement is re-rooted in a small module and libcst's PositionProvider runs on
that; its absolute start line comes from the stdlib ``ast`` (10x cheaper than libcst metadata).
"""

from __future__ import annotations

import ast
import hashlib
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import libcst as cst

from stopbox.detectors._context import CANDIDATE_PARAMS, ScanContext
from stopbox.detectors._positions import finding_positions
from stopbox.detectors._registry import Rule
from stopbox.detectors._types import Finding, RuleInfo
from stopbox.detectors._walk import COMMENT_HINT, walk

__all__ = ["run_rules", "MAX_DEPTH", "TooComplexError"]

MAX_DEPTH = 120
"""Deeper syntax trees are refused before libcst sees them: its native parser overflows its
stack (a segfault) or goes quadratic on pathological nesting (measured: 5000 nested
parentheses crash it; a 2000-term ``1+1+...`` chain takes over a second).  Real code in the
standard library stays under 20."""


class TooComplexError(Exception):
    """The source nests deeper than :data:`MAX_DEPTH`; it is not inspected."""


def _depth(tree: ast.AST) -> int:
    best = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    pop, push, node_type = stack.pop, stack.append, ast.AST
    while stack:
        node, depth = pop()
        if depth > best:
            best = depth
            if best > MAX_DEPTH:
                return best
        depth += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                push((value, depth))
            elif type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        push((item, depth))
    return best


Handler = Callable[[Any, ScanContext], None]
_WS = re.compile(r"\s+")


class _CombinedPass:
    """Dispatches every rule handler for each node, in one walk (see detectors/_walk.py).

    Handlers are looked up by node class (trackers first, then the rules'); ``leave`` runs only
    for node classes that need it and for statements (see :data:`walk`'s ``leave_types``)."""

    def __init__(
        self,
        ctx: ScanContext,
        visit: dict[type, list[Handler]],
        leave: dict[type, list[Handler]],
        module: cst.Module,
    ) -> None:
        self.ctx, self.visit, self.leave = ctx, visit, leave
        self.paths: dict[int, tuple[int, ...]] = {id(s): (i,) for i, s in enumerate(module.body)}
        self.path_stack: list[tuple[int, ...]] = []
        self.flow = ctx.flow

    def on_visit(self, node: cst.CSTNode) -> None:
        ctx = self.ctx
        if self.flow is not None:
            self.flow.enter(node, ctx)
        path = self.paths.get(id(node))
        if path is not None:
            self.path_stack.append(path)
            ctx.stmt_path = path
            body = getattr(node, "body", None)
            if type(node) in _DEFS and type(body) is cst.IndentedBlock:
                paths = self.paths
                for j, child in enumerate(body.body):
                    paths[id(child)] = (*path, j)
        handlers = self.visit.get(type(node))
        if handlers:
            if type(node) is cst.Call:
                node = _expand_splats(node, ctx)
            for handler in handlers:
                handler(node, ctx)

    def on_leave(self, node: cst.CSTNode) -> None:
        handlers = self.leave.get(type(node))
        if handlers:
            for handler in handlers:
                handler(node, self.ctx)
        if id(node) in self.paths and self.path_stack:
            self.path_stack.pop()
            self.ctx.stmt_path = self.path_stack[-1] if self.path_stack else ()
        if self.flow is not None:
            self.flow.leave(node)


_DEFS = (cst.FunctionDef, cst.ClassDef)


def _expand_splats(node: cst.Call, ctx: ScanContext) -> cst.Call:
    """``f(*[a, b], **{"k": v})`` as the rules should see it: ``f(a, b, k=v)`` (a ``**`` display
    naming ``use_sandbox`` stays: SBX003 and the capability flow judge it).

    Unpacking a display of arguments changes nothing but the spelling; the rules judge the
    expanded call, and findings on it are reported at the original node."""
    if not any(arg.star for arg in node.args):
        return node
    args: list[cst.Arg] = []
    changed = False
    for arg in node.args:
        value = arg.value
        if arg.star == "*" and isinstance(value, cst.List | cst.Tuple):
            if any(isinstance(el, cst.StarredElement) for el in value.elements):
                args.append(arg)
                continue
            args.extend(cst.Arg(value=el.value) for el in value.elements)
            changed = True
        elif arg.star == "**" and isinstance(value, cst.Dict):
            pairs: list[cst.Arg] = []
            for el in value.elements:
                key = ctx.const_str(el.key) if isinstance(el, cst.DictElement) else None
                if key is None or not key.isidentifier() or key == "use_sandbox":
                    pairs = []  # use_sandbox splats stay as written: SBX003 and the flow judge them
                    break
                pairs.append(cst.Arg(keyword=cst.Name(key), value=el.value))
            if pairs:
                args.extend(pairs)
                changed = True
            else:
                args.append(arg)
        else:
            args.append(arg)
    if not changed:
        return node
    positional = [a for a in args if a.keyword is None and not a.star]
    rest = [a for a in args if a.keyword is not None or a.star]
    expanded = cst.Call(func=node.func, args=[*positional, *rest])
    ctx.synthetic[id(expanded)] = node
    ctx.keep.append(expanded)
    return expanded


def _pop_scope(node: cst.CSTNode, ctx: ScanContext) -> None:
    if ctx.scope:
        ctx.scope.pop()
        ctx.scope_kinds.pop()


# -- name and taint tracking (runs before the rules' handlers for the same node) -------------
def _track_import(node: cst.Import, ctx: ScanContext) -> None:
    for alias in node.names:
        dotted = _dotted(alias.name)
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            ctx.aliases[alias.asname.name.value] = dotted
            ctx.imported.add(alias.asname.name.value)
        else:
            top = dotted.split(".")[0]
            ctx.aliases[top] = top
            ctx.imported.add(top)


def _track_import_from(node: cst.ImportFrom, ctx: ScanContext) -> None:
    if node.module is None or node.relative or isinstance(node.names, cst.ImportStar):
        return
    module = _dotted(node.module)
    for alias in node.names:
        name = _dotted(alias.name)
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        ctx.aliases[local] = f"{module}.{name}"
        ctx.imported.add(local)


def _track_assign(node: cst.Assign, ctx: ScanContext) -> None:
    target_names = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
    single = len(node.targets) == 1
    for t in node.targets:
        _mark_mutated(t.target, ctx)
        for name in _target_names(t.target):
            ctx.bind(name, node.value if single and isinstance(t.target, cst.Name) else None)
    root = _module_root(node.value, ctx)
    if root is not None:
        for name in target_names:
            ctx.module_derived[name] = root
    resolved = (
        ctx.qualname(node.value) if isinstance(node.value, cst.Name | cst.Attribute) else None
    )
    for name in target_names:
        if resolved is not None and resolved != name:
            ctx.aliases[name] = resolved
        else:
            ctx.aliases.pop(name, None)
    if ctx.is_tainted(node.value):
        for t in node.targets:
            ctx.taint_targets(t.target)


def _track_for(node: cst.For | cst.CompFor, ctx: ScanContext) -> None:
    for name in _target_names(node.target):
        ctx.bind(name)
    if isinstance(node.target, cst.Name):
        ctx.for_iters.setdefault(node.target.value, []).append(node.iter)
    if ctx.is_tainted(node.iter):
        ctx.taint_targets(node.target)


def _track_def(node: cst.FunctionDef, ctx: ScanContext) -> None:
    ctx.bind(node.name.value)
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine):
        stmt = body[0].body[0] if len(body[0].body) == 1 else None
        if isinstance(stmt, cst.Return) and stmt.value is not None:
            ctx.const_returns[node.name.value] = stmt.value
    ctx.scope.append(node.name.value)
    ctx.scope_kinds.append("function")
    for param in (*node.params.params, *node.params.posonly_params, *node.params.kwonly_params):
        if param.name.value in CANDIDATE_PARAMS:
            ctx.tainted.add(param.name.value)


def _track_params(node: cst.Parameters, ctx: ScanContext) -> None:
    for param in (*node.params, *node.posonly_params, *node.kwonly_params):
        ctx.bind(param.name.value)
    for star in (node.star_arg, node.star_kwarg):
        if isinstance(star, cst.Param):
            ctx.bind(star.name.value)


def _track_class(node: cst.ClassDef, ctx: ScanContext) -> None:
    ctx.bind(node.name.value)
    ctx.scope.append(node.name.value)
    ctx.scope_kinds.append("class")


_MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "add", "clear",
     "remove", "discard", "__setitem__", "__delitem__", "__iadd__", "sort", "reverse"}
)  # fmt: skip


def _track_call(node: cst.Call, ctx: ScanContext) -> None:
    if type(node.func) is cst.Attribute:
        ctx.not_values.add(id(node.func))
    func = node.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        if func.attr.value in _MUTATORS:
            ctx.mutated.add(func.value.value)
    for arg in node.args:
        if not arg.star and isinstance(arg.value, cst.Name):
            ctx.mutated.add(arg.value.value)


def _track_attribute(node: cst.Attribute, ctx: ScanContext) -> None:
    # x.append taken as a value (aliased, passed) mutates x wherever it is called
    if node.attr.value in _MUTATORS and type(node.value) is cst.Name:
        ctx.mutated.add(node.value.value)


def _mark_mutated(target: cst.BaseExpression, ctx: ScanContext) -> None:
    if isinstance(target, cst.Subscript | cst.Attribute):
        root = target.value
        while isinstance(root, cst.Subscript | cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name):
            ctx.mutated.add(root.value)
    elif isinstance(target, cst.Tuple | cst.List):
        for el in target.elements:
            _mark_mutated(el.value, ctx)


def _track_target(node: cst.AugAssign | cst.AnnAssign | cst.NamedExpr, ctx: ScanContext) -> None:
    value = getattr(node, "value", None)
    plain = isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name)
    _mark_mutated(node.target, ctx)
    if value is not None and isinstance(node.target, cst.Name):
        root = _module_root(value, ctx)
        if root is not None:
            ctx.module_derived[node.target.value] = root
    for name in _target_names(node.target):
        ctx.bind(name, value if plain else None)


def _track_asname(node: cst.AsName, ctx: ScanContext) -> None:
    for name in _target_names(node.name):
        ctx.bind(name)


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        out: list[str] = []
        for el in target.elements:
            out.extend(_target_names(el.value))
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _module_root(expr: cst.BaseExpression, ctx: ScanContext) -> str | None:
    """The imported name an attribute/call/subscript chain is rooted in (``random.Random()``
    -> ``random.Random``), through names already assigned from one; None otherwise."""
    node = expr
    while isinstance(node, cst.Attribute | cst.Call | cst.Subscript | cst.NamedExpr):
        if isinstance(node, cst.Call):
            for arg in node.args[:2]:  # f(random.Random, 0): a local helper applying one
                if not arg.keyword and isinstance(arg.value, cst.Name | cst.Attribute):
                    root = _module_root(arg.value, ctx)
                    if root is not None and isinstance(node.func, cst.Name):
                        return root
            node = node.func
        else:
            node = node.value
    if isinstance(node, cst.Name):
        if node.value in ctx.module_derived:
            return ctx.module_derived[node.value]
        if node.value in ctx.imported:
            return ctx.aliases.get(node.value, node.value)
    return None


_TRACK: dict[str, Handler] = {
    "Import": _track_import,
    "ImportFrom": _track_import_from,
    "Assign": _track_assign,
    "For": _track_for,
    "CompFor": _track_for,
    "FunctionDef": _track_def,
    "ClassDef": _track_class,
    "Parameters": _track_params,
    "Call": _track_call,
    "Attribute": _track_attribute,
    "AugAssign": _track_target,
    "AnnAssign": _track_target,
    "NamedExpr": _track_target,
    "AsName": _track_asname,
}


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


# -- dispatch tables ----------------------------------------------------------------------------
_TABLES: dict[tuple[int, ...], tuple[dict[type, list[Handler]], dict[type, list[Handler]]]] = {}


def _node_class(name: str) -> type:
    cls = getattr(cst, name, None)
    if not isinstance(cls, type):
        raise ValueError(f"handler for unknown libcst node type {name!r}")
    return cls


def _tables(
    rules: Sequence[Rule],
) -> tuple[dict[type, list[Handler]], dict[type, list[Handler]]]:
    key = tuple(id(r) for r in rules)
    cached = _TABLES.get(key)
    if cached is not None:
        return cached
    visit: dict[type, list[Handler]] = defaultdict(list)
    leave: dict[type, list[Handler]] = defaultdict(list)
    for name, tracker in _TRACK.items():
        visit[_node_class(name)].append(tracker)
    for r in rules:
        for attr in dir(r):
            if attr.startswith("visit_"):
                visit[_node_class(attr[len("visit_") :])].append(getattr(r, attr))
            elif attr.startswith("leave_"):
                leave[_node_class(attr[len("leave_") :])].append(getattr(r, attr))
    for cls in _DEFS:
        leave[cls].append(_pop_scope)
    _TABLES[key] = (dict(visit), dict(leave))
    return _TABLES[key]


_PARSE_LOCK = threading.Lock()


def _skip_validation(self: cst.CSTNode) -> None:
    return None


def _parse_without_validation(source: str) -> cst.Module:
    """``cst.parse_module`` without re-validating every node the native parser builds.

    ``CSTNode.__post_init__`` validates each node (about a quarter of parse time, measured);
    the parser's output is valid by construction, and libcst's own comment there suggests
    skipping it when parsing.  Swapped under a lock so concurrent parses cannot leave the
    no-op installed."""
    with _PARSE_LOCK:
        original = cst.CSTNode.__post_init__
        cst.CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
        try:
            return cst.parse_module(source)
        finally:
            cst.CSTNode.__post_init__ = original  # type: ignore[method-assign]


def run_rules(
    source: str,
    rules: Sequence[Rule],
    allowed_imports: frozenset[str],
    surface_policy: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> list[Finding]:
    """Parse once, run every rule in one pass, return positioned, fingerprinted findings.

    Raises SyntaxError, libcst.ParserSyntaxError, TooComplexError, RecursionError, MemoryError or
    ValueError for the caller to turn into a finding.  The stdlib ``ast`` parses first: it is
    cheap, guards libcst against pathological input, and gives statement lines for positions.
    """
    if not source.isascii() and unicodedata.normalize("NFKC", source) != source:
        source = nfkc_identifiers(source)
    tree = ast.parse(source)
    if _depth(tree) > MAX_DEPTH:
        raise TooComplexError(f"syntax nested deeper than {MAX_DEPTH} levels")
    module = _parse_without_validation(source)
    ctx = ScanContext(
        source=source,
        allowed_imports=allowed_imports,
        module=module,
        surface_policy=surface_policy,
    )
    visit, leave = _tables(rules)
    run = _CombinedPass(ctx, visit, leave, module)
    walk(
        module,
        run.on_visit,
        run.on_leave,
        full=COMMENT_HINT.search(source) is not None,
        leave_types=None if ctx.flow is not None else frozenset(leave),
        leave_ids=run.paths,
    )
    for r in rules:
        r.finish(ctx)
    if not ctx.raw:
        return []
    positions = finding_positions(module, tree, ctx.raw)
    return _finalise(ctx, positions)


def nfkc_identifiers(source: str) -> str:
    """``source`` with every identifier NFKC-normalised, as Python itself reads it (fullwidth
    ``ｅｘｅｃ`` is ``exec``); strings and comments are left alone.  Only called for non-ASCII
    sources; a source the tokenizer rejects is returned unchanged (the parse reports it)."""
    import io
    import tokenize

    edits: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and not tok.string.isascii():
                norm = unicodedata.normalize("NFKC", tok.string)
                if norm != tok.string and tok.start[0] == tok.end[0]:
                    edits[tok.start[0]].append((tok.start[1], tok.end[1], norm))
    except (tokenize.TokenError, SyntaxError):
        return source
    if not edits:
        return source
    lines = io.StringIO(source).readlines()
    for row, items in edits.items():
        line = lines[row - 1]
        for start, end, text in sorted(items, reverse=True):
            line = line[:start] + text + line[end:]
        lines[row - 1] = line
    return "".join(lines)


def _finalise(ctx: ScanContext, positions: dict[int, tuple[int, int]]) -> list[Finding]:
    lines = ctx.source.splitlines()
    seen: Counter[str] = Counter()
    findings: list[Finding] = []
    ordered = sorted(ctx.raw, key=lambda r: (positions[id(r.node)], r.info.id))
    for r in ordered:
        line, col = positions[id(r.node)]
        base = _fingerprint_base(r.info, r.scope, _normalised(ctx, r.node))
        occurrence = seen[base]
        seen[base] += 1
        snippet = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        findings.append(
            Finding(
                rule_id=r.info.id,
                name=r.info.name,
                category=r.info.category,
                severity=r.severity,
                confidence=r.info.confidence,
                line=line,
                col=col,
                message=r.message,
                fingerprint=f"{base}:{occurrence}",
                snippet=snippet[:200],
            )
        )
    return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, int, int, str]] = set()
    out = []
    for f in findings:
        key = (f.rule_id, f.line, f.col, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _normalised(ctx: ScanContext, node: cst.CSTNode) -> str:
    try:
        text = ctx.code(node)
    except Exception:  # noqa: BLE001 - a node without codegen still gets a fingerprint
        text = type(node).__name__
    return _WS.sub(" ", text).strip()


def _fingerprint_base(info: RuleInfo, scope: str, text: str) -> str:
    digest = hashlib.sha256(
        f"{info.id}|{scope}|{text}".encode("utf-8", "surrogatepass")
    ).hexdigest()
    return digest[:20]
