"""Checks the secret evaluators share (seeds/tasks/*/evaluator.py import this leaf module, never
the engine): a solution's output arrives as plain JSON-decoded data and is checked here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["vector_output"]


def vector_output(
    output: Any, n: int, what: str, kinds: str = "biuf"
) -> tuple[np.ndarray | None, str]:
    """Check a JSON-decoded return value that should be a vector of ``n`` numbers (evaluators).

    ``(array, "")`` when ``output`` is a list/tuple/array of shape exactly ``(n,)`` whose dtype
    kind is in ``kinds`` (b bool, i/u int, f float) and holds no NaN; otherwise ``(None, why)``.
    Nothing from the output is called: it is plain decoded data.
    """
    if isinstance(output, dict) and "__unencodable__" in output:
        return None, f"returned a {output['__unencodable__']} that cannot leave the sandbox"
    if output is None or isinstance(output, str | bytes | dict | set | bool | int | float):
        return None, f"returned {type(output).__name__}, expected {what} of shape ({n},)"
    try:
        arr = np.asarray(output)
    except (ValueError, TypeError) as exc:
        return None, f"returned something that is not a vector ({exc})"
    if arr.shape != (n,):
        return None, f"{what} of shape {arr.shape}, expected ({n},)"
    if arr.dtype.kind not in kinds:
        expected = {"biuf": "numbers or bools", "iu": "integers"}.get(kinds, f"kinds {kinds!r}")
        return None, f"{what} of dtype {arr.dtype}, expected {expected}"
    if arr.dtype.kind == "f" and bool(np.isnan(arr).any()):
        return None, f"{what} with NaN values"
    return arr, ""
