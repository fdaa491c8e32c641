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

    A computed name (``"__glo" + "bals__"``) reaches attributes a reader cannot see.

    INVALID:
        value = getattr(obj, "__" + "globals" + "__")
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
        if not is_literal(literal_value(node.args[index].value)):
            ctx.report(
                self.info,
                node,
                f"{name}() with a computed attribute name: the attribute reached cannot be "
                "seen by reading the code",
            )
