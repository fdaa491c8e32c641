from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_LOOKUPS = frozenset({"getattr", "vars", "dir", "setattr", "hasattr", "delattr"})


@rule(
    "IMP004",
    "builtins-access",
    Category.DISALLOWED_IMPORT,
    Severity.HIGH,
    Confidence.HIGH,
)
class BuiltinsAccess(Rule):
    """The program reaches into ``__builtins__`` or the ``builtins`` module as an object
    (``getattr(__builtins__, ...)``, ``__builtins__["__import__"]``, ``vars(builtins)``).

    Looking builtins up by name gets ``__import__``, ``exec`` or ``open`` past any check that
    looks for those names.

    INVALID:
        imp = getattr(__builtins__, "__imp" + "ort__")
    --
        e = __builtins__["exec"]
    --
        import builtins
        table = vars(builtins)

    VALID:
        total = sum([1, 2, 3])
        print(len("builtins"))
    """

    def visit_Name(self, node: cst.Name, ctx: ScanContext) -> None:
        if node.value == "__builtins__":
            ctx.report(
                self.info,
                node,
                "use of __builtins__: builtins looked up as an object can reach __import__, "
                "exec and open past name-based checks",
            )

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name in _LOOKUPS and node.args:
            first = node.args[0].value
            if isinstance(first, cst.Name | cst.Attribute) and ctx.qualname(first) == "builtins":
                ctx.report(
                    self.info,
                    node,
                    f"{name}() on the builtins module: builtins looked up by name can reach "
                    "__import__, exec and open past name-based checks",
                )
