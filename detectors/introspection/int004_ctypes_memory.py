from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_PREFIXES = ("ctypes.", "_ctypes.", "cffi.", "mmap.")


@rule(
    "INT004",
    "raw-memory-access",
    Category.INTROSPECTION_ESCAPE,
    Severity.CRITICAL,
    Confidence.HIGH,
)
class RawMemoryAccess(Rule):
    """The program uses ``ctypes``, ``cffi`` or ``mmap``: raw memory and foreign calls.

    With ``ctypes`` a program can patch interpreter memory, call libc directly (``system``,
    ``syscall``) and undo any Python-level restriction.

    INVALID:
        import ctypes
        libc = ctypes.CDLL(None)
    --
        from ctypes import pythonapi as api
        api.PyObject_GetAttr

    VALID:
        import numpy as np
        buf = np.zeros(4)
    """

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        name = ctx.qualname(node)
        if name is not None and name.startswith(_PREFIXES) and name.count(".") == 1:
            self._report(ctx, node, name)

    def visit_Name(self, node: cst.Name, ctx: ScanContext) -> None:
        alias = ctx.aliases.get(node.value)
        if alias is not None and alias.startswith(_PREFIXES) and alias != node.value:
            self._report(ctx, node, alias)

    def _report(self, ctx: ScanContext, node: cst.CSTNode, name: str) -> None:
        ctx.report(
            self.info,
            node,
            f"{name}: raw memory / foreign function access can patch the interpreter and call "
            "libc directly",
        )
