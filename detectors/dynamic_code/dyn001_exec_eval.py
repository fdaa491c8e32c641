from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext, is_literal, literal_value
from stopbox.detectors._helpers import EXEC_FUNCS
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "DYN001",
    "exec-eval-compile",
    Category.DYNAMIC_CODE,
    Severity.HIGH,
    Confidence.HIGH,
)
class ExecEvalCompile(Rule):
    """``exec``, ``eval`` or ``compile`` (also via ``builtins.`` or an alias) runs code that is
    not a literal string.

    Code built at run time cannot be inspected before it runs.  A literal string argument (or a
    constant) is reported at medium severity: it is visible, but an improver has no reason to run
    code from text, and the text itself is not inspected as code.

    INVALID:
        source = "import o" + "s"
        exec(source)
    --
        import builtins
        run_it = builtins.eval
        run_it(expression)
    --
        code = compile(text, "<x>", "exec")

    --
        code = compile("x = 1", "<s>", "exec")

    VALID:
        value = int("12")
    --
        import ast
        tree = ast.literal_eval("[1, 2]")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name not in EXEC_FUNCS or not node.args:
            return
        if is_literal(literal_value(node.args[0].value)) or ctx.const_str(node.args[0].value):
            ctx.report(
                self.info,
                node,
                f"{name}() of a constant string: no reason to run code from text",
                Severity.MEDIUM,
            )
            return
        ctx.report(
            self.info,
            node,
            f"{name}() of a non-literal: code built at run time cannot be inspected before it runs",
        )
