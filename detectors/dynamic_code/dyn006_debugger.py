from __future__ import annotations

from typing import Any

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._flow import analyse
from stopbox.detectors._registry import Rule, rule, rule_by_id
from stopbox.detectors._types import Category, Confidence, Severity

_DEBUGGERS = frozenset(
    {"breakpoint", "pdb.set_trace", "pdb.run", "code.interact", "sys.breakpointhook"}
)
_INTERACTIVE = frozenset({"help", "input", "license", "credits", "copyright", "exit", "quit"})
_AS_VALUES = {
    "exec": ("DYN001", "runs code built at run time wherever it is called"),
    "eval": ("DYN001", "runs code built at run time wherever it is called"),
    "compile": ("DYN001", "builds code objects from text wherever it is called"),
    "open": ("IO001", "opens files with a mode the gate cannot see"),
    "__import__": ("IMP002", "imports modules by computed names"),
    "globals": ("DYN004", "exposes the module namespace as a dict"),
    "locals": ("DYN004", "exposes a namespace as a dict"),
    "vars": ("DYN004", "exposes a namespace as a dict"),
    "getattr": ("DYN003", "looks attributes up by names the gate cannot see"),
    "setattr": ("DYN003", "writes attributes by names the gate cannot see"),
    "delattr": ("DYN003", "deletes attributes by names the gate cannot see"),
    "__loader__": ("INT001", "is the module's loader (load_module runs any module)"),
    "__spec__": ("INT001", "is the module's import spec (its loader runs any module)"),
}
"""Built-ins that are dangerous as values: passed to map(), stored in a list, bound as a
default, wrapped in functools.partial or np.frompyfunc, they run where no call is seen."""
_WATCHED = frozenset({*_AS_VALUES, *_INTERACTIVE, "breakpoint"})
_ATTR_VALUES = {
    "operator.attrgetter": "DYN003",
    "operator.methodcaller": "DYN003",
    "builtins.exec": "DYN001",
    "builtins.eval": "DYN001",
    "builtins.getattr": "DYN003",
    "importlib.import_module": "IMP002",
}


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

    Also reports the dangerous built-ins used as values rather than called (``map(exec, codes)``,
    ``[eval]``, ``def f(run=exec)``, ``partial(open, mode="w")``, ``np.frompyfunc(exec, 1, 1)``,
    ``__loader__``), under the rule of what they do (DYN001, IO001, IMP002, DYN004, DYN003,
    INT001): where such a value is finally called, with what, cannot be checked.

    INVALID:
        breakpoint()
    --
        debug = breakpoint
        debug()

    VALID:
        points = [1, 2, 3]
        total = sum(points)
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        if type(node.func) is cst.Name and node.func.value in _WATCHED:
            ctx.not_values.add(id(node.func))

    def visit_Arg(self, node: cst.Arg, ctx: ScanContext) -> None:
        if node.keyword is not None and node.keyword.value in _WATCHED:
            ctx.not_values.add(id(node.keyword))

    def visit_Name(self, node: cst.Name, ctx: ScanContext) -> None:
        value = node.value
        if value not in _WATCHED:
            return
        if value in _AS_VALUES and id(node) not in ctx.not_values:
            if value not in ctx.imported and ctx.aliases.get(value, value) == value:
                ctx.deferred.setdefault("values", []).append((node, ctx.here()))
        if value in _INTERACTIVE and ctx.aliases.get(value, value) == value:
            ctx.deferred.setdefault("IO005", []).append((node, ctx.here()))
        if value == "breakpoint" and ctx.aliases.get(value, value) == "breakpoint":
            self._report(ctx, node, value)

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        if node.attr.value in _WATCHED:
            ctx.not_values.add(id(node.attr))
        name = ctx.qualname(node)
        if name in _ATTR_VALUES and id(node) not in ctx.not_values:
            ctx.deferred.setdefault("attr-values", []).append((node, name, ctx.here()))
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
        for node, where in ctx.deferred.get("values", []):
            if not _program_binds(ctx, flow, node):
                rule_id, why = _AS_VALUES[node.value]
                ctx.report(
                    rule_by_id(rule_id),
                    node,
                    f"{node.value} used as a value (passed, stored or wrapped), not called here: "
                    f"it {why}, and where it is called cannot be checked",
                    Severity.HIGH if rule_id != "IO001" else None,
                    where=where,
                )
        for node, name, where in ctx.deferred.get("attr-values", []):
            ctx.report(
                rule_by_id(_ATTR_VALUES[name]),
                node,
                f"{name} used as a value (passed, stored or wrapped), not called here: what it "
                "is finally called with cannot be checked",
                where=where,
            )
        for node, where in ctx.deferred.get("IO005", []):
            if not _program_binds(ctx, flow, node):
                _report_interactive(ctx, node, node.value, where)

    def _report(self, ctx: ScanContext, node: cst.CSTNode, name: str | None) -> None:
        ctx.report(
            self.info,
            node,
            f"{name}: a debugger entry runs whatever the environment or its input says, code no "
            "reader can see",
        )


def _program_binds(ctx: ScanContext, flow: Any, node: cst.Name) -> bool:
    """Does the program bind this name itself (a parameter, a def, an assignment) where it is
    used?  Scope-aware when the capability flow ran, else any binding in the file counts."""
    if flow is not None and id(node) in flow.f.scope_of_name:
        scope = flow.f.scope_of_name[id(node)]
        return bool(flow.bindings((flow.resolve(node.value, scope), node.value)))
    return ctx.bind_counts.get(node.value, 0) > 0


def _report_interactive(
    ctx: ScanContext, node: cst.CSTNode, name: str, where: tuple[tuple[int, ...], str] | None = None
) -> None:
    ctx.report(
        rule_by_id("IO005"),
        node,
        f"{name}: interactive built-ins read the terminal, page text through an external pager "
        "or stop the interpreter; a program scored in a sandbox has no use for them",
        where=where,
    )
