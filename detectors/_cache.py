"""Findings cached by content hash, keyed also by the rules version and the policy's parts that
change findings (import allow-list, disabled rules, severity overrides).

Two levels: an in-process dict and a directory of small JSON files.  The directory is
``$STOPBOX_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/stopbox/findings`` (default
``~/.cache/stopbox/findings``); ``STOPBOX_NO_CACHE=1`` turns the disk level off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from stopbox.detectors._types import Finding

__all__ = ["FindingCache", "cache_dir", "cache_key"]

_MEMORY_LIMIT = 4096


def cache_dir() -> Path | None:
    if os.environ.get("STOPBOX_NO_CACHE"):
        return None
    explicit = os.environ.get("STOPBOX_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stopbox" / "findings"


def cache_key(source: str, salt: str) -> str:
    h = hashlib.sha256(salt.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(source.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class FindingCache:
    def __init__(self) -> None:
        self._memory: dict[str, tuple[Finding, ...]] = {}

    def get(self, key: str) -> tuple[Finding, ...] | None:
        hit = self._memory.get(key)
        if hit is not None:
            return hit
        directory = cache_dir()
        if directory is None:
            return None
        try:
            data = json.loads((directory / key[:2] / f"{key}.json").read_text("utf-8"))
            found = tuple(Finding.from_json(d) for d in data)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.remember(key, found)
        return found

    def put(self, key: str, findings: tuple[Finding, ...]) -> None:
        self.remember(key, findings)
        directory = cache_dir()
        if directory is None:
            return
        try:
            sub = directory / key[:2]
            sub.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=sub, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump([f.to_full_json() for f in findings], fh)
            os.replace(tmp, sub / f"{key}.json")
        except OSError:
            pass  # a read-only or full cache directory only costs speed

    def clear_memory(self) -> None:
        self._memory.clear()

    def remember(self, key: str, findings: tuple[Finding, ...]) -> None:
        if len(self._memory) >= _MEMORY_LIMIT:
            self._memory.clear()
        self._memory[key] = findings
