from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

FRAME_ATTRS = frozenset(
    {
        "f_back",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_code",
        "f_trace",
        "gi_frame",
        "gi_code",
        "cr_frame",
        "cr_code",
        "ag_frame",
        "ag_code",
        "tb_frame",
        "tb_next",
        "co_code",
        "co_consts",
    }
)
FRAME_CALLS = frozenset(
    {
        "sys._getframe",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "sys.exc_info",
        "inspect.currentframe",
        "inspect.stack",
        "inspect.trace",
        "inspect.getouterframes",
        "inspect.getinnerframes",
        "inspect.getsource",
        "traceback.walk_stack",
        "traceback.extract_stack",
        "threading.settrace",
        "sys._getframemodulename",
    }
)


@rule(
    "INT002",
    "frame-access",
    Category.INTROSPECTION_ESCAPE,
    Severity.HIGH,
    Confidence.HIGH,
)
class FrameAccess(Rule):
    """The program walks stack frames or code objects (``sys._getframe``, ``f_back``,
    ``gi_frame``, ``tb_frame``, ``inspect.currentframe``, ``sys.settrace``).

    Frames of the caller hold the trusted side's locals and globals; walking them reaches
    objects never handed to the program.

    INVALID:
        import sys
        caller = sys._getframe(1).f_globals
    --
        def gen():
            yield 1
        frame = gen().gi_frame
    --
        import inspect
        here = inspect.currentframe()

    VALID:
        import itertools
        pairs = list(itertools.combinations([1, 2, 3], 2))
    """

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        if node.attr.value in FRAME_ATTRS:
            self._report(ctx, node, node.attr.value)

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name in FRAME_CALLS:
            self._report(ctx, node, f"{name}()")

    def _report(self, ctx: ScanContext, node: cst.CSTNode, what: str) -> None:
        ctx.report(
            self.info,
            node,
            f"{what} walks frames or code objects: callers' frames hold objects the program "
            "was never given",
        )
