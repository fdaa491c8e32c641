from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext, _walk
from stopbox.detectors._helpers import EXEC_FUNCS
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_DECODERS = frozenset(
    {
        "decode",
        "b64decode",
        "b32decode",
        "b16decode",
        "a85decode",
        "b85decode",
        "urlsafe_b64decode",
        "decompress",
        "fromhex",
        "unhexlify",
        "a2b_base64",
        "a2b_hex",
        "loads",
        "chr",
        "reversed",
        "translate",
        "rot13",
    }
)


@rule(
    "DYN002",
    "decode-then-exec",
    Category.DYNAMIC_CODE,
    Severity.CRITICAL,
    Confidence.HIGH,
)
class DecodeThenExec(Rule):
    """``exec``/``eval``/``compile`` of text produced by a decoder (base64, hex, zlib, codecs,
    ``chr`` joins, reversed strings).

    Encoding code before running it only makes sense to hide it from inspection.

    INVALID:
        import base64
        exec(base64.b64decode("aW1wb3J0IG9z"))
    --
        eval("".join(chr(c) for c in [49, 43, 49]))
    --
        exec(bytes.fromhex("7072696e74283129").decode())

    VALID:
        import base64
        data = base64.b64decode("aGVsbG8=")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        if ctx.call_name(node) not in EXEC_FUNCS or not node.args:
            return
        for sub in _walk(node.args[0].value):
            if isinstance(sub, cst.Call):
                func = sub.func
                attr = (
                    func.attr.value
                    if isinstance(func, cst.Attribute)
                    else func.value
                    if isinstance(func, cst.Name)
                    else ""
                )
                if attr in _DECODERS:
                    ctx.report(
                        self.info,
                        node,
                        f"code decoded at run time ({attr}) is executed: encoding code before "
                        "running it hides it from inspection",
                    )
                    return
