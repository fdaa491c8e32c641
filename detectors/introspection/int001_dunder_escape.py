from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._helpers import string_args
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

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
_BENIGN_ON_SELF = frozenset({"__class__", "__dict__"})


@rule(
    "INT001",
    "dunder-escape",
    Category.INTROSPECTION_ESCAPE,
    Severity.HIGH,
    Confidence.HIGH,
)
class DunderEscape(Rule):
    """The program reads an interpreter-internal attribute (``__subclasses__``, ``__globals__``,
    ``__code__``, ``__closure__``, ``__mro__``, ``__bases__``, ``__defaults__`` ...), directly
    or by a literal name in ``getattr``.

    These attributes are the classic route out of a restricted namespace
    (``().__class__.__bases__[0].__subclasses__()``) and the way to read or patch the
    broker's state.  ``self.__class__`` / ``self.__dict__`` alone are not reported.

    INVALID:
        classes = ().__class__.__bases__[0].__subclasses__()
    --
        g = utility.__globals__
    --
        code = getattr(run, "__code__")
    --
        improve_algorithm.__defaults__ = (None,)

    VALID:
        name = type(self).__name__
    --
        doc = improve_algorithm.__doc__
    """

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        attr = node.attr.value
        if attr not in ESCAPE_DUNDERS:
            return
        if attr in _BENIGN_ON_SELF and isinstance(node.value, cst.Name):
            if node.value.value in ("self", "cls"):
                return
        self._report(ctx, node, attr)

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name not in ("getattr", "setattr", "delattr", "hasattr", "operator.attrgetter"):
            return
        for text in string_args(node):
            if any(part in ESCAPE_DUNDERS for part in text.split(".")):
                self._report(ctx, node, text)
                return

    def _report(self, ctx: ScanContext, node: cst.CSTNode, attr: str) -> None:
        ctx.report(
            self.info,
            node,
            f"access to {attr}: interpreter internals are the classic route out of a restricted "
            "namespace and into the broker's state",
        )
