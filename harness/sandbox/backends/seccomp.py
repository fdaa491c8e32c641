"""`seccomp` backend (default): the worker is a local subprocess; each job's child is confined by
rlimits, Landlock, user/net/pid namespaces (where the kernel allows) and a pyseccomp filter."""

from __future__ import annotations

import sys
from pathlib import Path

from stopbox.harness.sandbox._base import backend
from stopbox.harness.sandbox._pool import WorkerSandbox

__all__ = ["SeccompSandbox"]


@backend("seccomp")
class SeccompSandbox(WorkerSandbox):
    """Warm pool of local workers (``python -I _worker.py``)."""

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if not sys.platform.startswith("linux"):
            return "the seccomp backend needs Linux (seccomp-bpf, Landlock, namespaces)"
        try:
            import pyseccomp  # noqa: F401
        except (ImportError, OSError) as exc:
            return (
                f"pyseccomp/libseccomp is not usable ({exc}); "
                "apt-get install libseccomp2 and pip install pyseccomp"
            )
        return None

    def worker_command(self, worker_dir: Path) -> list[str]:
        return [sys.executable, "-I", "-B", str(worker_dir / "_worker.py")]
