from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_PATH_TAKERS = frozenset(
    {"open", "io.open", "codecs.open", "pathlib.Path", "os.listdir", "os.scandir", "os.walk",
     "glob.glob", "os.stat", "os.path.exists", "os.open", "shutil.copy", "numpy.load",
     "numpy.loadtxt", "numpy.fromfile", "numpy.genfromtxt", "numpy.memmap", "os.path.isfile",
     "os.path.isdir", "os.path.getsize", "pathlib.Path.read_text", "io.FileIO", "linecache.getline",
     "linecache.getlines", "shutil.copyfile", "tokenize.open", "json.load"}
)  # fmt: skip


@rule(
    "IO003",
    "read-outside-workdir",
    Category.IO,
    Severity.MEDIUM,
    Confidence.MEDIUM,
)
class ReadOutsideWorkdir(Rule):
    """A file call names a path outside the job's working directory: an absolute path, a path
    with ``..`` or a home directory (``~``).

    The sandbox gives each job a fresh workdir; anything else is the host's files (keys,
    evaluator data, other runs).  The path may be a literal or a constant: a name bound once to a
    string, ``+``/``join``/f-string of constants, each element of a constant list a loop runs
    over, or what a one-line helper returns.

    INVALID:
        key = open("/root/.ssh/id_rsa").read()
    --
        import numpy as np
        data = np.load("../secret/test_seeds.npy")
    --
        from pathlib import Path
        cfg = Path("~/.config/openai").expanduser()

    --
        base = "/etc"
        secret = open(base + "/shadow").read()
    --
        PATHS = ["/proc/self/environ", "input.txt"]
        for p in PATHS:
            text = open(p).read()
    --
        def cache_path():
            return "/var/cache/" + "scores.json"
        data = open(cache_path()).read()

    VALID:
        data = open("input.txt").read()
    --
        name = "data/input.txt"
        rows = open(name).read().splitlines()
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name not in _PATH_TAKERS:
            return
        if not node.args:
            return
        for text in ctx.const_candidates(node.args[0].value):
            if text.startswith(("/", "~")) or ".." in text.split("/"):
                ctx.report(
                    self.info,
                    node,
                    f"{name}({text!r}) names a path outside the job's workdir: the host's files "
                    "are not the program's to read",
                )
                return
