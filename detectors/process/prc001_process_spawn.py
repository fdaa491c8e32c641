from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_SPAWNERS = frozenset(
    {"os.system", "os.popen", "os.posix_spawn", "os.posix_spawnp", "pty.spawn", "os.startfile",
     "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell", "commands.getoutput",
     "platform.popen"}
)  # fmt: skip
_PREFIXES = ("subprocess.", "os.exec", "os.spawn", "sh.", "plumbum.", "pexpect.")


@rule(
    "PRC001",
    "process-spawn",
    Category.PROCESS,
    Severity.CRITICAL,
    Confidence.HIGH,
)
class ProcessSpawn(Rule):
    """The program starts another program: ``subprocess``, ``os.system``, ``os.popen``,
    ``os.exec*``, ``os.spawn*``, ``pty.spawn``, ``asyncio.create_subprocess_*``.

    A new process is a new interpreter or shell outside the job's Python-level controls.

    INVALID:
        import os as o
        o.system("id")
    --
        import subprocess
        subprocess.run(["python", "candidate.py"])
    --
        from os import execv
        execv("/bin/sh", ["sh"])

    VALID:
        import random
        random.seed(0)
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name is not None and (name in _SPAWNERS or name.startswith(_PREFIXES)):
            ctx.report(
                self.info,
                node,
                f"{name}() starts another program: a new interpreter or shell runs outside the "
                "job's controls",
            )
