from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext, is_literal, literal_value
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_ACCESSORS = frozenset(
    {"getattr", "setattr", "delattr", "operator.attrgetter", "operator.methodcaller",
     "object.__getattribute__", "type.__getattribute__"}
)  # fmt: skip


@rule(
    "DYN003",
    "computed-attribute-name",
    Category.DYNAMIC_CODE,
    Severity.MEDIUM,
    Confidence.MEDIUM,
)
class ComputedAttributeName(Rule):
    """``getattr``/``setattr``/``delattr``/``attrgetter`` with an attribute name that is not a
    literal string.

    A computed name reaches attributes a reader cannot see.  Names built from constants
    (``"__glo" + "bals__"``, a name bound once to a string) are resolved and judged by INT001 and
    IMP005 instead; dispatch on the program's own instance (``getattr(self, "_" + mode)``) is
    reported at low severity (it reaches only the object's own attributes; a second lookup on the
    result is judged again).

    INVALID:
        value = getattr(obj, name.strip())
    --
        import operator
        get = operator.attrgetter(name)

    VALID:
        value = getattr(obj, "size", 0)
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name not in _ACCESSORS:
            return
        index = 0 if name in ("operator.attrgetter", "operator.methodcaller") else 1
        if len(node.args) <= index:
            return
        value = node.args[index].value
        if is_literal(literal_value(value)) or ctx.const_str(value) is not None:
            return
        if index == 1 and isinstance(node.args[0].value, cst.Name):
            if node.args[0].value.value in ("self", "cls"):
                ctx.report(
                    self.info,
                    node,
                    f"{name}() on the program's own instance with a computed name",
                    Severity.LOW,
                )
                return
        ctx.report(
            self.info,
            node,
            f"{name}() with a computed attribute name: the attribute reached cannot be "
            "seen by reading the code",
        )
