from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_HOOKS = frozenset(
    {"sys.modules", "sys.meta_path", "sys.path_hooks", "sys.path", "sys.path_importer_cache"}
)


@rule(
    "IMP003",
    "import-machinery-access",
    Category.DISALLOWED_IMPORT,
    Severity.HIGH,
    Confidence.HIGH,
)
class ImportMachineryAccess(Rule):
    """The program touches the import machinery: ``sys.modules``, ``sys.meta_path``,
    ``sys.path``, ``sys.path_hooks``.

    ``sys.modules`` hands out already-imported modules (``os`` among them) without an import
    statement; editing the path or hooks changes what later imports load.

    INVALID:
        import sys
        os_module = sys.modules["os"]
    --
        from sys import modules
        modules["posix"].system("id")

    VALID:
        import math
        print(math.pi)
    """

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        name = ctx.qualname(node)
        if name in _HOOKS:
            self._report(ctx, node, name)

    def visit_Name(self, node: cst.Name, ctx: ScanContext) -> None:
        alias = ctx.aliases.get(node.value)
        if alias in _HOOKS and alias != node.value:
            self._report(ctx, node, alias)

    def _report(self, ctx: ScanContext, node: cst.CSTNode, name: str) -> None:
        ctx.report(
            self.info,
            node,
            f"access to {name}: reaches modules outside the import allow-list without an "
            "import statement, or changes what imports load",
        )
