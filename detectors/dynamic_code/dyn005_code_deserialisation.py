from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_LOADERS = frozenset(
    {"pickle.loads", "pickle.load", "marshal.loads", "marshal.load", "dill.loads", "types.CodeType",
     "types.FunctionType", "shelve.open", "_pickle.loads", "cloudpickle.loads", "joblib.load",
     "_pickle.load", "pickle.Unpickler"}
)  # fmt: skip


@rule(
    "DYN005",
    "code-deserialisation",
    Category.DYNAMIC_CODE,
    Severity.HIGH,
    Confidence.HIGH,
)
class CodeDeserialisation(Rule):
    """Objects or code are deserialised or constructed directly (``pickle.loads``,
    ``marshal.loads``, ``types.CodeType``, ``types.FunctionType``).

    Unpickling runs arbitrary callables; code objects built by hand are never seen as source.

    INVALID:
        import pickle
        obj = pickle.loads(blob)
    --
        import types
        f = types.FunctionType(code, {})

    VALID:
        import json
        data = json.loads("[1]")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name in _LOADERS:
            ctx.report(
                self.info,
                node,
                f"{name}(...) builds code or objects from data: what runs is never visible as "
                "source",
            )
