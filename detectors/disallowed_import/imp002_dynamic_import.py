from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._helpers import string_args
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_IMPORTERS = frozenset(
    {
        "__import__",
        "importlib.import_module",
        "importlib.__import__",
        "importlib.reload",
        "importlib.util.spec_from_file_location",
        "importlib.util.module_from_spec",
        "importlib.machinery.SourceFileLoader",
        "imp.load_source",
        "imp.load_module",
        "runpy.run_module",
        "runpy.run_path",
        "zipimport.zipimporter",
        "pkgutil.get_loader",
    }
)


@rule(
    "IMP002",
    "dynamic-import",
    Category.DISALLOWED_IMPORT,
    Severity.HIGH,
    Confidence.HIGH,
)
class DynamicImport(Rule):
    """A module is imported by a function call (``__import__``, ``importlib.import_module``,
    ``runpy``, loaders) rather than an ``import`` statement.

    Call-based imports take computed names, so the allow-list cannot be checked statically.
    A literal name that is on the allow-list is reported at low severity only.

    INVALID:
        m = __import__("o" + "s")
    --
        import importlib
        sub = importlib.import_module("subprocess")
    --
        mod = getattr(__builtins__, "__import__")("socket")

    VALID:
        import math
        root = math.sqrt(2)
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        func = node.func
        if isinstance(func, cst.Call) and ctx.call_name(func) == "getattr":
            looked_up = string_args(func)[1:] or string_args(func)
            if looked_up and looked_up[0] in ("__import__", "import_module", "reload"):
                name = looked_up[0]
                ctx.report(
                    self.info,
                    node,
                    f"{name} looked up with getattr and called: a run-time import the allow-list "
                    "cannot check",
                )
                return
        if name not in _IMPORTERS:
            return
        literals = string_args(node)
        if name in ("__import__", "importlib.import_module") and literals:
            if all(ctx.is_allowed_module(lit) for lit in literals[:1]):
                ctx.report(
                    self.info,
                    node,
                    f"{name}({literals[0]!r}) imports an allowed module by a call; prefer an "
                    "import statement",
                    Severity.LOW,
                )
                return
        target = repr(literals[0]) if literals else "a computed name"
        ctx.report(
            self.info,
            node,
            f"{name}(...) imports {target} at run time: the import allow-list cannot be "
            "enforced statically on call-based imports",
        )
