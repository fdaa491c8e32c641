from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_NAMESPACES = frozenset({"globals", "locals", "vars"})


@rule(
    "DYN004",
    "namespace-access",
    Category.DYNAMIC_CODE,
    Severity.MEDIUM,
    Confidence.MEDIUM,
)
class NamespaceAccess(Rule):
    """``globals()``, ``locals()`` or ``vars()`` used to read or write names as data.

    Names written through a namespace dict (``globals()["utility"] = ...``) escape every
    name-based check; a write is reported as high.

    INVALID:
        globals()["utility"] = lambda s: 1.0
    --
        fn = globals()["ex" + "ec"]

    VALID:
        values = {"a": 1}
        keys = list(values)
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name in _NAMESPACES and not (name == "vars" and node.args):
            ctx.report(
                self.info,
                node,
                f"{name}() exposes a namespace as a dict: names read or written through it "
                "escape name-based checks",
            )

    def visit_Assign(self, node: cst.Assign, ctx: ScanContext) -> None:
        for target in node.targets:
            t = target.target
            if isinstance(t, cst.Subscript) and isinstance(t.value, cst.Call):
                if ctx.call_name(t.value) in _NAMESPACES:
                    ctx.report(
                        self.info,
                        t,
                        "a name is written through a namespace dict: it can replace utility, "
                        "run or builtins without an assignment a reader can see",
                        Severity.HIGH,
                    )
