from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Detector tests scan fresh: no disk cache, an empty in-memory cache."""
    from stopbox.detectors._scan import CACHE

    monkeypatch.setenv("STOPBOX_NO_CACHE", "1")
    CACHE.clear_memory()
