from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._helpers import assigned_targets
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "TMP005",
    "module-monkeypatch",
    Category.TAMPERING,
    Severity.HIGH,
    Confidence.HIGH,
)
class ModuleMonkeypatch(Rule):
    """The program assigns to an attribute of an imported module (``time.time = ...``,
    ``helpers.extract_code = ...``, ``np.random.seed = ...``) or of ``builtins``.

    Patching shared modules changes the behaviour of code the program does not own: timing,
    randomness, the helpers the harness relies on.

    INVALID:
        import time
        time.perf_counter = lambda: 0.0
    --
        import helpers
        helpers.extract_code = lambda texts: texts
    --
        import builtins
        builtins.print = None

    VALID:
        import time
        start = time.perf_counter()
    """

    def _targets(self, node: cst.CSTNode, ctx: ScanContext) -> None:
        for target in assigned_targets(node):
            if not isinstance(target, cst.Attribute):
                continue
            root = target.value
            while isinstance(root, cst.Attribute):
                root = root.value
            if isinstance(root, cst.Name) and root.value in ctx.imported:
                qual = ctx.qualname(target.value)
                if qual is not None and qual.split(".")[0] not in ("utility", "language_model"):
                    ctx.report(
                        self.info,
                        target,
                        f"assignment to {qual}.{target.attr.value} patches a shared module: it "
                        "changes code the program does not own (timing, randomness, helpers)",
                    )

    visit_Assign = _targets
    visit_AugAssign = _targets
    visit_Del = _targets
