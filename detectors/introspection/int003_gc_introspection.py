from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "INT003",
    "gc-introspection",
    Category.INTROSPECTION_ESCAPE,
    Severity.HIGH,
    Confidence.HIGH,
)
class GcIntrospection(Rule):
    """The program uses the garbage collector's object graph (``gc.get_objects``,
    ``gc.get_referrers``, ``gc.get_referents``, any ``gc.`` call).

    The collector lists every live object in the process, including ones the program was never
    given, such as the worker's internals.

    INVALID:
        import gc
        everything = gc.get_objects()
    --
        from gc import get_referrers as refs
        owners = refs(utility)

    VALID:
        import collections
        counts = collections.Counter("aab")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name is not None and name.startswith("gc."):
            ctx.report(
                self.info,
                node,
                f"{name}() walks the garbage collector's object graph: it reaches every live "
                "object, including ones never handed to the program",
            )
