from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_CALLS = frozenset(
    {"os.kill", "os.killpg", "os._exit", "os.abort", "os.setuid", "os.setgid", "os.setsid",
     "os.nice", "os.chroot", "os.chdir", "sys.setrecursionlimit", "faulthandler.enable",
     "atexit.register", "sys.setswitchinterval"}
)  # fmt: skip
_PREFIXES = ("signal.", "resource.")


@rule(
    "PRC003",
    "signals-and-limits",
    Category.PROCESS,
    Severity.HIGH,
    Confidence.HIGH,
)
class SignalsAndLimits(Rule):
    """The program handles or sends signals, changes resource limits or process state
    (``signal.*``, ``resource.*``, ``os.kill``, ``os._exit``, ``os.setsid``,
    ``sys.setrecursionlimit``, ``atexit``).

    Signal handlers can swallow the timeouts that stop a job; resource calls try to lift the
    sandbox's limits; ``os.kill`` targets other processes.

    INVALID:
        import signal
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    --
        import resource
        resource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))
    --
        import sys
        sys.setrecursionlimit(10**6)

    VALID:
        import time
        time.sleep(0)
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name is not None and (name in _CALLS or name.startswith(_PREFIXES)):
            ctx.report(
                self.info,
                node,
                f"{name}() changes signals, limits or process state: it can swallow timeouts, "
                "lift limits or hit other processes",
            )
