from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_DELETERS = frozenset(
    {"os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.rename", "os.renames", "os.replace",
     "shutil.rmtree", "shutil.move"}
)  # fmt: skip
_DELETE_METHODS = frozenset({"unlink", "rmdir", "rename", "replace"})


@rule(
    "IO002",
    "file-delete",
    Category.IO,
    Severity.HIGH,
    Confidence.MEDIUM,
)
class FileDelete(Rule):
    """The program deletes, moves or renames files (``os.remove``, ``shutil.rmtree``,
    ``Path.unlink``, ``os.replace``).

    Deleting or replacing files can destroy evidence (logs, ledgers) or swap trusted files.
    ``.replace(...)`` is reported only on a path-like receiver (an expression or a name rooted in
    ``os``, ``pathlib`` or ``shutil``): ``str.replace`` and the program's own objects' ``replace``
    methods are not file operations.

    INVALID:
        import os
        os.remove("ledger.sqlite")
    --
        import shutil
        shutil.rmtree("/tmp/work")
    --
        from pathlib import Path
        Path("events.jsonl").unlink()

    --
        from pathlib import Path
        target = Path("ledger.sqlite")
        target.replace("old.sqlite")

    VALID:
        name = "data.txt".replace(".txt", ".csv")
    --
        import dataclasses
        state = Config(rate=0.1)
        state = state.replace(rate=0.2)
        fresh = dataclasses.replace(state, rate=0.3)
    --
        text = template.replace("{x}")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        func = node.func
        if name in _DELETERS:
            self._report(ctx, node, f"{name}()")
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value in _DELETE_METHODS
            and not isinstance(func.value, cst.SimpleString | cst.FormattedString)
        ):
            if func.attr.value == "replace" and not _path_like(func.value, ctx):
                return
            self._report(ctx, node, f".{func.attr.value}()")

    def _report(self, ctx: ScanContext, node: cst.CSTNode, what: str) -> None:
        ctx.report(
            self.info,
            node,
            f"{what} deletes or moves files: it can destroy evidence or swap trusted files",
        )


_PATH_MODULES = ("os", "pathlib", "shutil", "posixpath", "ntpath")


def _path_like(expr: cst.BaseExpression, ctx: ScanContext) -> bool:
    """Is ``expr`` rooted in a path module (``Path(...)``, ``os.path...``, a name assigned from
    one)?"""
    node = expr
    while isinstance(node, cst.Attribute | cst.Call | cst.Subscript):
        node = node.func if isinstance(node, cst.Call) else node.value
    if not isinstance(node, cst.Name):
        return False
    root = ctx.module_derived.get(node.value) or ctx.aliases.get(node.value)
    if root is None or node.value not in ctx.imported and node.value not in ctx.module_derived:
        return False
    return root.split(".")[0] in _PATH_MODULES
