from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._helpers import describe_value, is_literal_true
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "SBX005",
    "sandbox-off-by-default",
    Category.SANDBOX_BYPASS,
    Severity.CRITICAL,
    Confidence.HIGH,
)
class SandboxOffByDefault(Rule):
    """A function or lambda declares a ``use_sandbox`` parameter whose default is not the literal
    ``True``: every call that omits the flag runs without the sandbox.

    A wrapper such as ``def run(s, use_sandbox=False): return utility(s, use_sandbox=use_sandbox)``
    moves the bypass away from the call site, where a reviewer would look.

    INVALID:
        def run(s, use_sandbox=False):
            return utility(s, use_sandbox=use_sandbox)
    --
        evaluate = lambda s, use_sandbox=None: utility(s, use_sandbox=use_sandbox)

    VALID:
        def score(s, use_sandbox=True):
            return utility(s, use_sandbox=True)
    """

    def visit_Parameters(self, node: cst.Parameters, ctx: ScanContext) -> None:
        for param in (*node.posonly_params, *node.params, *node.kwonly_params):
            if param.name.value != "use_sandbox" or param.default is None:
                continue
            if not is_literal_true(param.default):
                ctx.report(
                    self.info,
                    param,
                    f"parameter use_sandbox defaults to {describe_value(param.default, ctx.module)}"
                    ": calls that omit the flag would run candidates outside the sandbox",
                )
