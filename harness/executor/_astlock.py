"""One ``ast.parse`` at a time per process: a workaround for CPython 3.11 (gh-106905).

On CPython before 3.11.8 / 3.12.1, ``ast.parse`` called from several threads at once can fail
with ``SystemError: AST constructor recursion depth mismatch`` (the AST constructor's recursion
counter is per interpreter, not per thread).  The detectors parse every program (and the engine
and the Ray runners scan programs in many threads), so a long study on Ray stopped with that
error.  :func:`install` wraps ``ast.parse`` in a process-wide lock.  Parsing holds the GIL
anyway, so serialising it costs next to nothing.  Idempotent; done by the Ray runners and by an
engine with parallel evaluations.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install", "installed", "NEEDED"]

NEEDED = sys.version_info < (3, 12, 1) and not ((3, 11, 8) <= sys.version_info < (3, 12))
"""Whether this interpreter has the bug (fixed in 3.11.8 and 3.12.1)."""

_LOCK = threading.RLock()
_MARK = "_stopbox_serialised"


def installed() -> bool:
    return bool(getattr(ast.parse, _MARK, False))


def install() -> None:
    """Make ``ast.parse`` take a process-wide lock (on every interpreter: harmless when fixed)."""
    with _LOCK:
        if installed():
            return
        original: Callable[..., Any] = ast.parse

        def parse(*args: Any, **kwargs: Any) -> Any:
            with _LOCK:
                return original(*args, **kwargs)

        parse.__doc__ = original.__doc__
        parse.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(parse, _MARK, True)
        ast.parse = parse
