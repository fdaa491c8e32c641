"""Parallel scanning (detectors/_audit.py) gives exactly the serial result, in discovery order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stopbox.detectors import audit_paths
from stopbox.detectors._audit import _chunksize, default_jobs
from stopbox.detectors._scan import CACHE

CORPUS = Path(__file__).parent / "evasion"


def test_parallel_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(CORPUS.glob("bypass_*.py"))[::12][:14] + sorted(CORPUS.glob("benign_*.py"))[:4]
    for i, f in enumerate(files):
        shutil.copy(f, tmp_path / f"f{i:02d}_{f.name}")
    monkeypatch.chdir(tmp_path)
    CACHE.clear_memory()
    serial, _ = audit_paths(["."], jobs=1)
    CACHE.clear_memory()
    progress: list[tuple[int, int]] = []
    parallel, _ = audit_paths(["."], jobs=2, progress=lambda d, t: progress.append((d, t)))
    assert [r.path for r in parallel] == sorted(p.name for p in tmp_path.glob("*.py"))
    assert [r.path for r in parallel] == [r.path for r in serial]
    assert [[f.to_full_json() for f in r.findings] for r in parallel] == [
        [f.to_full_json() for f in r.findings] for r in serial
    ]
    assert sum(len(r.findings) for r in parallel) > 0
    assert progress[-1] == (len(files), len(files)) and len(progress) == len(files)


def test_chunks_and_jobs() -> None:
    assert default_jobs() >= 1
    assert _chunksize(7, 2) == 1 and _chunksize(400, 2) == 16 and _chunksize(80, 2) == 10


def test_detectors_run_nothing() -> None:
    """detectors/ reads text and events only: it never imports the sandbox, the probe or the
    command layer (audit --execute lives in harness/commands/_execute.py)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "detectors"
    forbidden = ("stopbox.harness.sandbox", "stopbox.harness.probe", "stopbox.harness.commands")
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert offenders == []
    assert not hasattr(__import__("stopbox.detectors._audit").detectors._audit, "execute_reports")
