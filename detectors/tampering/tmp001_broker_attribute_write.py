from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._helpers import assigned_targets
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_SETTERS = frozenset(
    {"setattr", "delattr", "object.__setattr__", "object.__delattr__", "vars"}
)  # fmt: skip


def broker_root(expr: cst.BaseExpression, ctx: ScanContext) -> str | None:
    """``utility`` / ``language_model`` if ``expr`` is an attribute/subscript chain on one."""
    node = expr
    while isinstance(node, cst.Attribute | cst.Subscript):
        node = node.value
    if isinstance(node, cst.Name):
        name = ctx.qualname(node)
        if name in ("utility", "language_model"):
            return name
    return None


@rule(
    "TMP001",
    "broker-attribute-write",
    Category.TAMPERING,
    Severity.CRITICAL,
    Confidence.HIGH,
)
class BrokerAttributeWrite(Rule):
    """The program writes or deletes an attribute of the brokered ``utility`` or
    ``language_model`` (directly, through an alias, ``setattr`` or ``object.__setattr__``).

    The broker's attributes are its accounting (budget, counters) and behaviour; in the
    sandbox such writes are refused and recorded, and statically they show intent to tamper.

    INVALID:
        utility.budget = 10**9
    --
        lm = language_model
        lm.max_responses_per_call += 100
    --
        setattr(utility, "uses", 0)
    --
        del language_model.budget

    VALID:
        n = min(language_model.max_responses_per_call, utility.budget)
    """

    def _targets(self, node: cst.CSTNode, ctx: ScanContext) -> None:
        for target in assigned_targets(node):
            if isinstance(target, cst.Attribute | cst.Subscript):
                root = broker_root(target, ctx)
                if root is not None:
                    self._report(ctx, target, root)

    visit_Assign = _targets
    visit_AugAssign = _targets
    visit_AnnAssign = _targets
    visit_Del = _targets

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name in _SETTERS and node.args and name != "vars":
            root = broker_root(node.args[0].value, ctx)
            if root is not None:
                self._report(ctx, node, root)

    def _report(self, ctx: ScanContext, node: cst.CSTNode, root: str) -> None:
        ctx.report(
            self.info,
            node,
            f"write to an attribute of the brokered {root}: its budget and behaviour are "
            "trusted state (the write is refused in the sandbox and recorded)",
        )
