from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._flow import analyse
from stopbox.detectors._registry import Rule, rule, rule_by_id
from stopbox.detectors._types import Category, Confidence, Severity

_DEBUGGERS = frozenset(
    {"breakpoint", "pdb.set_trace", "pdb.run", "code.interact", "sys.breakpointhook"}
)
_INTERACTIVE = frozenset({"help", "input", "license", "credits", "copyright", "exit", "quit"})


@rule(
    "DYN006",
    "debugger-entry",
    Category.DYNAMIC_CODE,
    Severity.HIGH,
    Confidence.HIGH,
)
class DebuggerEntry(Rule):
    """``breakpoint()`` (or ``pdb.set_trace``, ``code.interact``) is called or referenced.

    ``breakpoint`` runs whatever ``PYTHONBREAKPOINT`` names (an import and a call chosen by the
    environment) or drops into a debugger that executes any text it reads: code that no reader
    can see.  Referencing it (``debug = breakpoint``) is reported as well as calling it.

    INVALID:
        breakpoint()
    --
        debug = breakpoint
        debug()

    VALID:
        points = [1, 2, 3]
        total = sum(points)
    """

    def visit_Name(self, node: cst.Name, ctx: ScanContext) -> None:
        value = node.value
        if value in _INTERACTIVE and ctx.aliases.get(value, value) == value:
            ctx.deferred.setdefault("IO005", []).append(node)
        if value == "breakpoint" and ctx.aliases.get(value, value) == "breakpoint":
            self._report(ctx, node, value)

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        name = ctx.qualname(node)
        if name in _DEBUGGERS or name == "builtins.breakpoint":
            self._report(ctx, node, name)
        elif (
            name is not None
            and name.split(".")[-1] in _INTERACTIVE
            and name.startswith(("builtins.", "__builtins__."))
        ):
            _report_interactive(ctx, node, name)

    def finish(self, ctx: ScanContext) -> None:
        flow = analyse(ctx)
        for node in ctx.deferred.get("IO005", []):
            if flow is not None:
                scope = flow.f.scope_of_name.get(id(node), 0)
                own = flow.bindings((flow.resolve(node.value, scope), node.value))
                bound = bool(own)
            else:
                bound = ctx.bind_counts.get(node.value, 0) > 0
            if not bound:
                _report_interactive(ctx, node, node.value)

    def _report(self, ctx: ScanContext, node: cst.CSTNode, name: str | None) -> None:
        ctx.report(
            self.info,
            node,
            f"{name}: a debugger entry runs whatever the environment or its input says, code no "
            "reader can see",
        )


def _report_interactive(ctx: ScanContext, node: cst.CSTNode, name: str) -> None:
    ctx.report(
        rule_by_id("IO005"),
        node,
        f"{name}: interactive built-ins read the terminal, page text through an external pager "
        "or stop the interpreter; a program scored in a sandbox has no use for them",
    )
