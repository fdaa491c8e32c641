from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext, literal_value
from stopbox.detectors._helpers import keyword
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_OPENERS = frozenset(
    {"open", "io.open", "codecs.open", "os.open", "os.fdopen", "tempfile.NamedTemporaryFile"}
)
_WRITE_METHODS = frozenset({"write_text", "write_bytes", "mkdir", "touch", "symlink_to"})
_WRITERS = frozenset(
    {"os.makedirs", "os.mkdir", "os.symlink", "os.link", "os.chmod", "os.chown", "os.utime",
     "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "tempfile.mkstemp",
     "tempfile.mkdtemp", "os.truncate", "os.write", "joblib.dump", "pickle.dump", "json.dump",
     "marshal.dump", "shelve.open", "numpy.save", "numpy.savez", "numpy.savez_compressed",
     "numpy.savetxt"}
)  # fmt: skip


@rule(
    "IO001",
    "file-write",
    Category.IO,
    Severity.MEDIUM,
    Confidence.HIGH,
)
class FileWrite(Rule):
    """The program opens a file for writing (mode with ``w``, ``a``, ``x`` or ``+``, or a mode it
    computes), writes through ``pathlib`` or creates files and directories.

    Improvers and solutions have no reason to write files; writes are how candidates are staged
    for execution outside the sandbox and how evaluator files are edited.

    INVALID:
        with open("out.txt", "w") as fh:
            fh.write("x")
    --
        import pathlib
        pathlib.Path("x.py").write_text(code)
    --
        f = open(name, mode)
    --
        import joblib
        joblib.dump(model, "model.pkl")

    VALID:
        with open("data.txt") as fh:
            text = fh.read()
    --
        f = open("data.bin", "rb")
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        func = node.func
        if name in _OPENERS:
            if name != "open" and name != "io.open" and name != "codecs.open":
                self._report(ctx, node, f"{name}()")
                return
            mode_arg = keyword(node, "mode")
            mode = (
                mode_arg.value
                if mode_arg
                else (
                    node.args[1].value
                    if len(node.args) > 1 and node.args[1].keyword is None
                    else None
                )
            )
            if mode is None:
                return
            value = literal_value(mode)
            if not isinstance(value, str):
                self._report(ctx, node, "open() with a computed mode")
            elif any(c in value for c in "wax+"):
                self._report(ctx, node, f"open(..., {value!r})")
        elif name in _WRITERS:
            self._report(ctx, node, f"{name}()")
        elif isinstance(func, cst.Attribute) and func.attr.value in _WRITE_METHODS:
            self._report(ctx, node, f".{func.attr.value}()")

    def _report(self, ctx: ScanContext, node: cst.CSTNode, what: str) -> None:
        ctx.report(
            self.info,
            node,
            f"{what} writes to the file system: candidates staged on disk can run outside the "
            "sandbox, and writes can edit trusted files",
        )
