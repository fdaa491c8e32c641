from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext, is_literal, literal_value
from stopbox.detectors._flow import analyse, flag_verdict
from stopbox.detectors._helpers import describe_value, keyword
from stopbox.detectors._registry import Rule, rule, rule_by_id
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "SBX002",
    "use-sandbox-non-literal",
    Category.SANDBOX_BYPASS,
    Severity.HIGH,
    Confidence.MEDIUM,
)
class UseSandboxNonLiteral(Rule):
    """A call passes ``use_sandbox`` a value that is not the literal ``True`` (a variable, an
    expression, a call): whether the sandbox is used is decided at run time.

    A non-literal flag is how a disabled sandbox hides from a text search (the paper's method).
    The value is resolved first: a name bound once to a constant, or a parameter whose default
    and every argument passed to it in this file resolve to ``True`` (the copied STOP
    ``meta_utility`` scaffolding: ``utility(x, use_sandbox=use_sandbox)``), is not reported; one
    that resolves to anything else is reported as SBX001 with ``[disables]``; one that cannot be
    resolved (the function is called from outside the file, the value is computed) is reported
    here, and the message starts with ``[unverifiable]``.

    INVALID:
        flag = len(solutions) > 100
        utility(candidate, use_sandbox=flag)
    --
        utility(candidate, use_sandbox=bool(0))
    --
        utility(candidate, use_sandbox=config["sandbox"])

    --
        def meta_utility(improve_str, use_sandbox):
            return utility(improve_str, use_sandbox=use_sandbox)

    VALID:
        utility(candidate, use_sandbox=True)
    --
        utility(candidate)
    --
        def meta_utility(improve_str, use_sandbox):
            return utility(improve_str, use_sandbox=use_sandbox)
        def run_all(s):
            return meta_utility(s, use_sandbox=True) + meta_utility(s, True)
    --
        SAFE = True
        def score(s, use_sandbox=SAFE):
            return utility(s, use_sandbox=use_sandbox)
        best = score("x")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        arg = keyword(node, "use_sandbox")
        if arg is None:
            return
        value = literal_value(arg.value)
        if is_literal(value) and (value is True or not value):
            return  # True is allowed; falsy literals are SBX001
        ctx.deferred.setdefault(self.info.id, []).append((arg, ctx.here()))

    def finish(self, ctx: ScanContext) -> None:
        flow = analyse(ctx)
        for arg, where in ctx.deferred.get(self.info.id, []):
            shown = describe_value(arg.value, ctx.module)
            verdict = flag_verdict(flow, arg.value)
            if verdict is True:
                continue
            if verdict is False:
                ctx.report(
                    rule_by_id("SBX001"),
                    arg,
                    f"[disables] use_sandbox={shown} resolves to a value other than True: an "
                    "attempt to run a candidate outside the sandbox",
                    where=where,
                )
                continue
            ctx.report(
                self.info,
                arg,
                f"[unverifiable] use_sandbox={shown} is not the literal True and cannot be "
                "resolved to it: the sandbox flag is decided at run time (a possible bypass "
                "that text search misses)",
                where=where,
            )
