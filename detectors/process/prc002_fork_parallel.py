from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

_FORKERS = frozenset(
    {"os.fork", "os.forkpty", "os.register_at_fork", "concurrent.futures.ProcessPoolExecutor",
     "concurrent.futures.ThreadPoolExecutor", "threading.Thread", "threading.Timer",
     "_thread.start_new_thread", "_thread.start_new", "joblib.Parallel", "joblib.delayed",
     "joblib.parallel_backend", "joblib.parallel_config", "joblib.Memory"}
)  # fmt: skip
_PREFIXES = ("multiprocessing.", "billiard.", "joblib.externals.", "joblib.parallel.")


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
    resources a job uses.  ``joblib.Parallel``/``delayed`` are workers; ``joblib.dump`` is a file
    write (IO001) and ``joblib.load`` unpickling (DYN005), not a fork.

    INVALID:
        import os
        pid = os.fork()
    --
        from multiprocessing import Pool
        pool = Pool(8)
    --
        import threading
        threading.Thread(target=print).start()
    --
        from joblib import Parallel as P, delayed
        out = P(n_jobs=4)(delayed(abs)(i) for i in range(8))

    VALID:
        import itertools
        chunks = list(itertools.islice(range(10), 3))
    --
        import joblib
        joblib.dump([1, 2], "cache.pkl")
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
