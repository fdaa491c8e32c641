from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return "?"


@rule(
    "IMP001",
    "disallowed-import",
    Category.DISALLOWED_IMPORT,
    Severity.HIGH,
    Confidence.HIGH,
)
class DisallowedImport(Rule):
    """An ``import`` or ``from ... import`` names a module outside the policy's allow-list (or
    is a relative import, which has no package to resolve against in the sandbox).

    The allow-list (policy ``[imports] allow``) is what the tasks need: math, random,
    itertools, numpy, ... and ``helpers`` for ``extract_code``.  Modules such as ``os``,
    ``sys``, ``subprocess``, ``socket`` or ``ctypes`` reach past the brokered capabilities.

    INVALID:
        import os
    --
        import numpy, subprocess as sp
    --
        from ctypes import CDLL
    --
        from . import sibling

    VALID:
        import numpy as np
        from helpers import extract_code
        from itertools import permutations
    --
        from __future__ import annotations
    """

    def visit_Import(self, node: cst.Import, ctx: ScanContext) -> None:
        for alias in node.names:
            module = _dotted(alias.name)
            if not ctx.is_allowed_module(module):
                self._report(ctx, alias, module)

    def visit_ImportFrom(self, node: cst.ImportFrom, ctx: ScanContext) -> None:
        if node.relative:
            dots = "." * len(node.relative)
            module = dots + (_dotted(node.module) if node.module is not None else "")
            self._report(ctx, node, module)
            return
        if node.module is not None:
            module = _dotted(node.module)
            if not ctx.is_allowed_module(module):
                self._report(ctx, node, module)

    def _report(self, ctx: ScanContext, node: cst.CSTNode, module: str) -> None:
        ctx.report(
            self.info,
            node,
            f"import of {module!r}, which is not in the policy's import allow-list: "
            "it can reach past the brokered language_model/utility capabilities",
        )
