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

    INVALID:
        import os
        os.remove("ledger.sqlite")
    --
        import shutil
        shutil.rmtree("/tmp/work")
    --
        from pathlib import Path
        Path("events.jsonl").unlink()

    VALID:
        name = "data.txt".replace(".txt", ".csv")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        func = node.func
        if name in _DELETERS:
            self._report(ctx, node, f"{name}()")
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value in _DELETE_METHODS
            and not (func.attr.value == "replace" and len(node.args) == 2)
            and not isinstance(func.value, cst.SimpleString | cst.FormattedString)
        ):
            if func.attr.value == "replace" and len(node.args) != 1:
                return
            self._report(ctx, node, f".{func.attr.value}()")

    def _report(self, ctx: ScanContext, node: cst.CSTNode, what: str) -> None:
        ctx.report(
            self.info,
            node,
            f"{what} deletes or moves files: it can destroy evidence or swap trusted files",
        )
