from __future__ import annotations

import re

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity
from stopbox.detectors.introspection.int002_frame_access import FRAME_ATTRS

ESCAPE_DUNDERS = frozenset(
    {
        "__subclasses__",
        "__globals__",
        "__code__",
        "__closure__",
        "__bases__",
        "__base__",
        "__mro__",
        "__builtins__",
        "__func__",
        "__loader__",
        "__spec__",
        "__reduce__",
        "__reduce_ex__",
        "__getattribute__",
        "__dict__",
        "__class__",
        "__self__",
        "__init_subclass__",
        "__set_name__",
        "__import__",
        "__objclass__",
        "__wrapped__",
        "__defaults__",
        "__kwdefaults__",
    }
)
ALLOWED_DUNDERS = frozenset(
    {"__init__", "__name__", "__qualname__", "__doc__", "__module__", "__version__", "__len__",
     "__repr__", "__str__", "__hash__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
     "__ge__", "__iter__", "__next__", "__contains__", "__getitem__", "__setitem__",
     "__delitem__", "__enter__", "__exit__", "__post_init__", "__slots__", "__add__", "__sub__",
     "__mul__", "__truediv__", "__floordiv__", "__neg__", "__abs__", "__bool__", "__missing__"}
)  # fmt: skip
"""Dunders a program may use: naming, documentation and the ordinary protocol methods (what
typed code, dataclasses and ``super().__init__()`` need).  Every other dunder is reported."""
_OWN_OBJECT = frozenset({"__class__", "__dict__"})
"""Allowed on the program's own objects (not on a capability, a module, a literal or a value
reached through another dunder)."""
_NAME_READERS = frozenset(
    {"getattr", "setattr", "delattr", "hasattr", "operator.attrgetter", "operator.methodcaller",
     "object.__getattribute__", "type.__getattribute__", "inspect.getattr_static"}
)  # fmt: skip
_FORMATTER_METHODS = frozenset({"get_field", "vformat", "format", "get_value"})


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def path_parts(field: str) -> list[str]:
    """The attribute names in a format-string field (``0.__class__[1].x`` -> ``__class__``,
    ``x``)."""
    head = re.match(r"[^.\[]*", field)
    rest = field[head.end() if head else 0 :]
    return re.findall(r"\.([^.\[]+)", rest)


def format_fields(template: str, depth: int = 0) -> list[str]:
    """Field names of a ``str.format`` template, nested format specs included."""
    import string

    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return out
    for _text, field, spec, _conv in parsed:
        if field:
            out.append(field)
        if spec and depth < 4:
            out.extend(format_fields(spec, depth + 1))
    return out


@rule(
    "INT001",
    "dunder-escape",
    Category.INTROSPECTION_ESCAPE,
    Severity.HIGH,
    Confidence.HIGH,
)
class DunderEscape(Rule):
    """The program uses a dunder attribute outside a short allow-list: directly, by a name in
    ``getattr``/``attrgetter`` (also built from constants), in a ``str.format``/``format_map``
    field (``"{0.__class__.__base__}"``), through ``string.Formatter().get_field`` or
    ``functools.reduce(getattr, (...))``.

    Interpreter internals (``__subclasses__``, ``__globals__``, ``__code__``, ``__closure__``,
    ``__mro__``, ``__bases__``, ``__defaults__`` ...) are the classic route out of a restricted
    namespace (``().__class__.__bases__[0].__subclasses__()``) and into the broker's state:
    high.  Other dunders off the allow-list are medium.  Allowed: ``__init__``, ``__name__``,
    ``__qualname__``, ``__doc__``, ``__module__``, ``__version__``, ``__len__``, ``__repr__``,
    ``__str__``, ``__hash__``, comparisons, iteration/container/context-manager protocol
    methods, ``__post_init__``, ``__slots__``, arithmetic; ``__class__`` and ``__dict__`` of the
    program's own objects.  Frame attributes named in strings (``"{0.gi_frame.f_back}"``) are
    reported here too (INT002 reports them in code).

    INVALID:
        classes = ().__class__.__bases__[0].__subclasses__()
    --
        g = utility.__globals__
    --
        code = getattr(run, "__code__")
    --
        improve_algorithm.__defaults__ = (None,)

    --
        import functools
        subs = functools.reduce(getattr, ("__class__", "__base__", "__subclasses__"), ())()
    --
        spec = "{0.__class__.__base__}"
        text = spec.format(1)
    --
        import string
        obj, _ = string.Formatter().get_field("0.__init__.__globals__", (object(),), {})

    VALID:
        name = type(self).__name__
    --
        doc = improve_algorithm.__doc__
    --
        class Stats:
            pass
        stats = Stats()
        stats.__dict__.update(seen=3)
        kind = stats.__class__.__name__
    --
        text = "{0.real} of {name}".format(3, name="x")
    """

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        attr = node.attr.value
        if not is_dunder(attr) or attr in ALLOWED_DUNDERS:
            return
        if attr in _OWN_OBJECT and _own_object(node.value, ctx):
            return
        self._report(ctx, node, attr, attr in ESCAPE_DUNDERS)

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        func = node.func
        if name in _NAME_READERS:
            index = 0 if name in ("operator.attrgetter", "operator.methodcaller") else 1
            for arg in node.args[index : index + 1 if name != "operator.attrgetter" else None]:
                text = ctx.const_str(arg.value)
                if text is not None:
                    self._judge_path(ctx, node, text.split("."), text)
        elif name == "functools.reduce" and len(node.args) >= 2:
            if ctx.qualname(node.args[0].value) in ("getattr", "operator.attrgetter"):
                names = ctx.const_value(node.args[1].value)
                if isinstance(names, tuple) and all(isinstance(n, str) for n in names):
                    self._judge_path(ctx, node, [str(n) for n in names], "reduce(getattr, ...)")
                else:
                    self._report(ctx, node, "reduce(getattr, <computed names>)", True)
        elif isinstance(func, cst.Attribute) and func.attr.value in ("format", "format_map"):
            template = ctx.const_str(func.value)
            if template is not None:
                for field in format_fields(template):
                    self._judge_path(ctx, node, path_parts(field), f"format field {{{field}}}")
        if isinstance(func, cst.Attribute) and func.attr.value in _FORMATTER_METHODS:
            if _is_formatter(func.value, ctx) and node.args:
                text = ctx.const_str(node.args[0].value)
                if text is None:
                    self._report(ctx, node, "string.Formatter with a computed field", True)
                    return
                fields = (
                    [text]
                    if func.attr.value in ("get_field", "get_value")
                    else (format_fields(text))
                )
                for field in fields:
                    self._judge_path(ctx, node, path_parts(field), f"Formatter field {field!r}")

    def _judge_path(
        self, ctx: ScanContext, node: cst.CSTNode, parts: list[str], shown: str
    ) -> None:
        for part in parts:
            if part in FRAME_ATTRS or (is_dunder(part) and part not in ALLOWED_DUNDERS):
                self._report(ctx, node, f"{part} (in {shown})", True)
                return

    def _report(self, ctx: ScanContext, node: cst.CSTNode, attr: str, escape: bool) -> None:
        if escape:
            ctx.report(
                self.info,
                node,
                f"access to {attr}: interpreter internals are the classic route out of a "
                "restricted namespace and into the broker's state",
            )
        else:
            ctx.report(
                self.info,
                node,
                f"access to {attr}: a dunder outside the allow-list (names, documentation and "
                "ordinary protocol methods)",
                Severity.MEDIUM,
            )


def _own_object(expr: cst.BaseExpression, ctx: ScanContext) -> bool:
    """Is ``expr`` one of the program's own objects (not a literal, a module, a value reached from
    a module, a capability or a value reached through another dunder)?"""
    node = expr
    while isinstance(node, cst.Attribute | cst.Subscript | cst.Call):
        if isinstance(node, cst.Attribute) and is_dunder(node.attr.value):
            return False
        node = node.func if isinstance(node, cst.Call) else node.value
    if not isinstance(node, cst.Name):
        return False
    name = node.value
    if name in ctx.imported or name in ctx.module_derived:
        return False
    return ctx.aliases.get(name, name) not in ("utility", "language_model")


def _is_formatter(expr: cst.BaseExpression, ctx: ScanContext) -> bool:
    if isinstance(expr, cst.Call):
        return ctx.call_name(expr) == "string.Formatter"
    if isinstance(expr, cst.Name):
        return ctx.module_derived.get(expr.value) == "string.Formatter"
    return False
