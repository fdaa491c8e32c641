from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_FORKERS = frozenset(
    {"os.fork", "os.forkpty", "os.register_at_fork", "concurrent.futures.ProcessPoolExecutor",
     "concurrent.futures.ThreadPoolExecutor", "threading.Thread", "threading.Timer",
     "_thread.start_new_thread", "_thread.start_new"}
)  # fmt: skip
_PREFIXES = ("multiprocessing.", "billiard.", "joblib.")


@rule(
    "PRC002",
    "fork-or-parallel",
    Category.PROCESS,
    Severity.HIGH,
    Confidence.HIGH,
)
class ForkOrParallel(Rule):
    """The program forks or starts processes/threads (``os.fork``, ``multiprocessing``,
    ``concurrent.futures`` pools, ``threading.Thread``).

    Extra processes and threads outlive calls, escape per-call timeouts and multiply the
    resources a job uses.

    INVALID:
        import os
        pid = os.fork()
    --
        from multiprocessing import Pool
        pool = Pool(8)
    --
        import threading
        threading.Thread(target=print).start()

    VALID:
        import itertools
        chunks = list(itertools.islice(range(10), 3))
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name is not None and (name in _FORKERS or name.startswith(_PREFIXES)):
            ctx.report(
                self.info,
                node,
                f"{name}() forks or starts workers: they can outlive calls, escape timeouts and "
                "multiply resources",
            )
