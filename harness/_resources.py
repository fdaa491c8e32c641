"""Where the data a command reads lives: package data of the installed ``stopbox`` namespace.

Nothing is found relative to a checkout: ``importlib.resources`` resolves the same way for an
editable install (the repository's folders) and for a wheel installed anywhere.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

__all__ = ["data_dir"]


def data_dir(package: str) -> Path:
    """The directory of ``stopbox.<package>`` (``policies``, ``seeds``, ``harness.sandbox`` ...)."""
    return Path(str(importlib.resources.files(f"stopbox.{package}")))
