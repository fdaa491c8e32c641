from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext, is_literal, literal_value
from stopbox.detectors._helpers import describe_value, keyword
from stopbox.detectors._registry import Rule, rule
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
    Forwarding a parameter whose default is ``True`` is still reported, at this rule's severity,
    because the caller decides the value.

    INVALID:
        flag = len(solutions) > 100
        utility(candidate, use_sandbox=flag)
    --
        utility(candidate, use_sandbox=bool(0))
    --
        utility(candidate, use_sandbox=config["sandbox"])

    VALID:
        utility(candidate, use_sandbox=True)
    --
        utility(candidate)
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        arg = keyword(node, "use_sandbox")
        if arg is None or is_literal(literal_value(arg.value)):
            return
        ctx.report(
            self.info,
            arg,
            f"use_sandbox={describe_value(arg.value, ctx.module)} is not the literal True: "
            "the sandbox flag is decided at run time (a possible bypass that text search misses)",
        )
