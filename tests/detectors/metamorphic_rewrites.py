"""Semantics-preserving rewrites (libcst) for the metamorphic test of the gate.

Each rewrite family turns a program into one that does the same thing spelled differently, the
way a model would dress up an attack:

* ``alias``: every call ``f(...)`` / ``m.f(...)`` goes through a fresh name bound just before
  the statement (``_a0 = m.f`` then ``_a0(...)``).
* ``local_function``: every call goes through a function defined in the file
  (``_via(f, *args, **kwargs)``).
* ``functional``: every call becomes ``functools.partial(f, *args, **kwargs)()``.
* ``splat``: arguments move into splats (``f(*(a,), **{"k": v})``).
* ``walrus``: ``x = e`` becomes ``(x := e)``; a call's callee is bound by a walrus.
* ``nfkc``: identifiers (names, attributes, keywords, imports) are spelled with fullwidth letters;
  Python normalises identifiers with NFKC, so ``ｅｘｅｃ`` *is* ``exec``.
* ``constant``: literal call arguments are bound to a variable just before the statement.
* ``string_names``: attribute reads become ``getattr(obj, "na" + "me")``, imports become
  ``__import__("o" + "s")``, name-like string literals are built by concatenation.

:func:`rewrite` returns the new source, or None when the family does not apply (nothing
changed) or the result would not compile (checked with :func:`compile` only; nothing runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst
import libcst.matchers as m

__all__ = ["FAMILIES", "rewrite"]

# calls whose meaning depends on the calling frame: never moved or wrapped
_FRAME_SENSITIVE = frozenset({"super", "locals", "vars", "dir"})
_KEEP_NAMES = frozenset({"True", "False", "None"})


def _dotted(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return True
    return isinstance(node, cst.Attribute) and _dotted(node.value)


def _callee_ok(call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Name) and func.value in _FRAME_SENSITIVE:
        return False
    return True


class _Bound(cst.CSTVisitor):
    """Names bound inside a statement by lambdas, comprehensions and walruses (an alias hoisted
    before the statement cannot see them)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Param(self, node: cst.Param) -> None:
        self.names.add(node.name.value)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        for name in m.findall(node.target, m.Name()):
            self.names.add(cst.ensure_type(name, cst.Name).value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if isinstance(node.target, cst.Name):
            self.names.add(node.target.value)


def _free_of(expr: cst.CSTNode, bound: set[str]) -> bool:
    return not any(cst.ensure_type(n, cst.Name).value in bound for n in m.findall(expr, m.Name()))


class _Hoister(cst.CSTTransformer):
    """Base for rewrites that bind something just before the enclosing simple statement."""

    prefix = "_h"

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0
        self.pending: list[cst.BaseSmallStatement] = []
        self.bound: list[set[str]] = []
        self.class_depth = 0
        self.in_comp = 0

    def fresh(self) -> str:
        name = f"{self.prefix}{self.counter}"
        self.counter += 1
        return name

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_depth += 1

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.class_depth -= 1
        return updated

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        v = _Bound()
        node.visit(v)
        self.bound.append(v.names)
        self.pending = []

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        self.bound.pop()
        if not self.pending:
            return updated
        lines = [cst.SimpleStatementLine([s]) for s in self.pending]
        self.pending = []
        return cst.FlattenSentinel([*lines, updated])

    def can_hoist(self, expr: cst.CSTNode) -> bool:
        in_line = bool(self.bound)
        return in_line and self.class_depth == 0 and _free_of(expr, self.bound[-1])

    def hoist(self, expr: cst.BaseExpression) -> cst.Name:
        name = self.fresh()
        self.pending.append(
            cst.Assign([cst.AssignTarget(cst.Name(name))], expr.with_changes(lpar=[], rpar=[]))
        )
        return cst.Name(name)


class Alias(_Hoister):
    prefix = "_alias"

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not _dotted(updated.func) or not _callee_ok(updated):
            return updated
        if not self.can_hoist(updated.func):
            return updated
        return updated.with_changes(func=self.hoist(updated.func))


class Constant(_Hoister):
    prefix = "_value"

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        value = updated.value
        literal = isinstance(value, cst.SimpleString | cst.Integer | cst.Float) or (
            isinstance(value, cst.Name) and value.value in _KEEP_NAMES
        )
        if not literal or not self.can_hoist(value):
            return updated
        return updated.with_changes(value=self.hoist(value))


def _args_of(call: cst.Call) -> tuple[list[cst.Arg], list[cst.Arg]]:
    positional = [a for a in call.args if a.keyword is None]
    keywords = [a for a in call.args if a.keyword is not None]
    return positional, keywords


class LocalFunction(cst.CSTTransformer):
    HELPER = "def _via(fn, *args, **kwargs):\n    return fn(*args, **kwargs)\n"

    def __init__(self) -> None:
        super().__init__()
        self.changed = False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not _callee_ok(updated):
            return updated
        self.changed = True
        return cst.Call(cst.Name("_via"), [cst.Arg(updated.func), *_plain(updated.args)])

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.changed:
            return updated
        return _prepend(updated, cst.parse_module(self.HELPER).body)


def _plain(args: Sequence[cst.Arg]) -> list[cst.Arg]:
    """Args with their trailing commas normalised (libcst keeps the original comma)."""
    return [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]


class Functional(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.changed = False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not _callee_ok(updated) or m.matches(updated.func, m.Attribute(attr=m.Name("partial"))):
            return updated
        self.changed = True
        partial = cst.Attribute(cst.Name("functools"), cst.Name("partial"))
        return cst.Call(cst.Call(partial, [cst.Arg(updated.func), *_plain(updated.args)]), [])

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.changed:
            return updated
        return _prepend(updated, cst.parse_module("import functools\n").body)


class Splat(cst.CSTTransformer):
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not updated.args or any(a.star for a in updated.args):
            return updated
        positional, keywords = _args_of(updated)
        new: list[cst.Arg] = []
        if positional:
            elements = [cst.Element(a.value) for a in positional]
            new.append(cst.Arg(cst.Tuple(elements + ([] if len(elements) > 1 else [])), star="*"))
            if len(elements) == 1:
                new[-1] = cst.Arg(cst.List(elements), star="*")
        if keywords:
            items = [
                cst.DictElement(cst.SimpleString(f'"{a.keyword.value}"'), a.value)
                for a in keywords
                if a.keyword is not None
            ]
            new.append(cst.Arg(cst.Dict(items), star="**"))
        return updated.with_changes(args=new)


class Walrus(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.counter = 0
        self.class_depth = 0
        self.comp = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_depth += 1

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.class_depth -= 1
        return updated

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.comp += 1

    def leave_CompFor(self, original: cst.CompFor, updated: cst.CompFor) -> cst.CompFor:
        self.comp -= 1
        return updated

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign | cst.Expr:
        if self.class_depth or len(updated.targets) != 1:
            return updated
        target = updated.targets[0].target
        if not isinstance(target, cst.Name):
            return updated
        walrus = cst.NamedExpr(
            target, updated.value, lpar=[cst.LeftParen()], rpar=[cst.RightParen()]
        )
        return cst.Expr(walrus)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if self.class_depth or self.comp or not _dotted(updated.func) or not _callee_ok(updated):
            return updated
        name = cst.Name(f"_w{self.counter}")
        self.counter += 1
        func = cst.NamedExpr(name, updated.func, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return updated.with_changes(func=func)


_FULLWIDTH = {c: chr(ord(c) - ord("A") + 0xFF21) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_FULLWIDTH.update({c: chr(ord(c) - ord("a") + 0xFF41) for c in "abcdefghijklmnopqrstuvwxyz"})


def fullwidth(text: str) -> str:
    return "".join(_FULLWIDTH.get(c, c) for c in text)


class Nfkc(cst.CSTTransformer):
    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if updated.value in _KEEP_NAMES:
            return updated
        return updated.with_changes(value=fullwidth(updated.value))


def _split(value: str) -> cst.BinaryOperation | None:
    """``"abc"`` -> ``"ab" + "c"`` for a plain, name-like string literal (else None)."""
    if len(value) < 2:
        return None
    return cst.BinaryOperation(
        cst.SimpleString(repr(value[:-1])),
        cst.Add(),
        cst.SimpleString(repr(value[-1:])),
    )


class StringNames(cst.CSTTransformer):
    """Attribute reads -> getattr with a built name; imports -> __import__; name-like strings
    -> concatenations."""

    def __init__(self) -> None:
        super().__init__()
        self.skip: set[int] = set()

    # nodes whose attributes are targets, patterns or module paths: left as they are
    def _mark(self, node: cst.CSTNode) -> None:
        for sub in m.findall(node, m.Attribute() | m.SimpleString()):
            self.skip.add(id(sub))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._mark_target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._mark_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._mark_target(node.target)
        self._mark(node.annotation)

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self._mark(node)

    def visit_Del(self, node: cst.Del) -> None:
        self._mark_target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._mark_target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._mark_target(node.name)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._mark(node)

    def visit_Import(self, node: cst.Import) -> None:
        self._mark(node)

    def visit_MatchCase(self, node: cst.MatchCase) -> None:
        self._mark(node.pattern)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._mark(node)

    def _mark_target(self, target: cst.CSTNode) -> None:
        self.skip.add(id(target))
        if isinstance(target, cst.Tuple | cst.List):
            for el in target.elements:
                self._mark_target(el.value)

    def _docstrings(self, body: Sequence[cst.CSTNode]) -> None:
        if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])):
            self._mark(body[0])

    def visit_Module(self, node: cst.Module) -> None:
        self._docstrings(node.body)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if isinstance(node.body, cst.IndentedBlock):
            self._docstrings(node.body.body)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if isinstance(node.body, cst.IndentedBlock):
            self._docstrings(node.body.body)

    def leave_Attribute(
        self, original: cst.Attribute, updated: cst.Attribute
    ) -> cst.BaseExpression:
        if id(original) in self.skip:
            return updated
        built = _split(updated.attr.value)
        if built is None:
            return updated
        return cst.Call(cst.Name("getattr"), [cst.Arg(updated.value), cst.Arg(built)])

    def leave_SimpleString(
        self, original: cst.SimpleString, updated: cst.SimpleString
    ) -> cst.BaseExpression:
        if id(original) in self.skip or updated.prefix.lower() not in ("", "u"):
            return updated
        value = updated.evaluated_value
        if not isinstance(value, str) or not value.replace(".", "_").isidentifier():
            return updated
        return _split(value) or updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        positional, keywords = _args_of(updated)
        if not keywords:
            return updated
        items: list[cst.BaseDictElement] = []
        for a in keywords:
            key = cst.ensure_type(a.keyword, cst.Name).value
            items.append(cst.DictElement(_split(key) or cst.SimpleString(repr(key)), a.value))
        kwargs = cst.Arg(cst.Dict(items), star="**")
        return updated.with_changes(args=[*_plain(positional), kwargs])

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.BaseSmallStatement:
        if len(updated.targets) != 1:
            return updated
        target = updated.targets[0].target
        if not isinstance(target, cst.Attribute) or _split(target.attr.value) is None:
            return updated
        built = _split(target.attr.value)
        assert built is not None
        call = cst.Call(
            cst.Name("setattr"), [cst.Arg(target.value), cst.Arg(built), cst.Arg(updated.value)]
        )
        return cst.Expr(call)

    def leave_AugAssign(
        self, original: cst.AugAssign, updated: cst.AugAssign
    ) -> cst.BaseSmallStatement:
        target = updated.target
        built = _split(target.attr.value) if isinstance(target, cst.Attribute) else None
        if not isinstance(target, cst.Attribute) or built is None:
            return updated
        op = {
            cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract,
            cst.MultiplyAssign: cst.Multiply,
        }.get(type(updated.operator))  # fmt: skip
        if op is None:
            return updated
        current = cst.Call(cst.Name("getattr"), [cst.Arg(target.value), cst.Arg(built)])
        value = cst.BinaryOperation(current, op(), updated.value)
        call = cst.Call(
            cst.Name("setattr"), [cst.Arg(target.value), cst.Arg(built), cst.Arg(value)]
        )
        return cst.Expr(call)

    def leave_ImportFrom(
        self, original: cst.ImportFrom, updated: cst.ImportFrom
    ) -> cst.ImportFrom | cst.FlattenSentinel[cst.BaseSmallStatement]:
        if updated.relative or isinstance(updated.names, cst.ImportStar) or updated.module is None:
            return updated
        module = cst.helpers.get_full_name_for_node(updated.module) or ""
        if module == "__future__":
            return updated
        out: list[cst.BaseSmallStatement] = []
        for alias in updated.names:
            name = cst.ensure_type(alias.name, cst.Name).value
            bound = name
            if alias.asname is not None:
                bound = cst.ensure_type(alias.asname.name, cst.Name).value
            imported = cst.Call(
                cst.Name("__import__"),
                [
                    cst.Arg(_split(module) or cst.SimpleString(repr(module))),
                    cst.Arg(cst.List([cst.Element(cst.SimpleString(repr(name)))]),
                            keyword=cst.Name("fromlist")),
                ],
            )  # fmt: skip
            value = cst.Call(
                cst.Name("getattr"),
                [cst.Arg(imported), cst.Arg(_split(name) or cst.SimpleString(repr(name)))],
            )
            out.append(cst.Assign([cst.AssignTarget(cst.Name(bound))], value))
        return cst.FlattenSentinel(out)

    def leave_Import(
        self, original: cst.Import, updated: cst.Import
    ) -> cst.Import | cst.FlattenSentinel[cst.BaseSmallStatement]:
        out: list[cst.BaseSmallStatement] = []
        for alias in updated.names:
            dotted = cst.helpers.get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                bound = cst.ensure_type(alias.asname.name, cst.Name).value
                if "." in dotted:
                    return updated
            else:
                bound = dotted.split(".")[0]
            built = _split(dotted) or cst.SimpleString(repr(dotted))
            out.append(
                cst.Assign(
                    [cst.AssignTarget(cst.Name(bound))],
                    cst.Call(cst.Name("__import__"), [cst.Arg(built)]),
                )
            )
        return cst.FlattenSentinel(out)


def _prepend(module: cst.Module, statements: Sequence[cst.BaseStatement]) -> cst.Module:
    """Insert after a docstring and ``from __future__`` imports."""
    body = list(module.body)
    at = 0
    while at < len(body) and (
        m.matches(body[at], m.SimpleStatementLine([m.Expr(m.SimpleString())]))
        or m.matches(body[at], m.SimpleStatementLine([m.ImportFrom(module=m.Name("__future__"))]))
    ):
        at += 1
    return module.with_changes(body=[*body[:at], *statements, *body[at:]])


FAMILIES: dict[str, Callable[[], cst.CSTTransformer]] = {
    "alias": Alias,
    "local_function": LocalFunction,
    "functional": Functional,
    "splat": Splat,
    "walrus": Walrus,
    "nfkc": Nfkc,
    "constant": Constant,
    "string_names": StringNames,
}


def rewrite(source: str, family: str) -> str | None:
    """``source`` rewritten by ``family``; None when it does not apply or would not compile."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None
    new = module.visit(FAMILIES[family]()).code
    if new == source:
        return None
    try:
        compile(new, "<rewrite>", "exec", dont_inherit=True)  # compiles only; nothing runs
    except (SyntaxError, ValueError):
        return None
    return new
