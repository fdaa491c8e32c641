"""Auditing files: discovery, cached and parallel scanning, summary.

``stopbox audit`` is a thin CLI over :func:`audit_paths`; bench/audit.py calls it in-process.
Nothing here runs the audited code: ``--execute`` lives in the command layer
(harness/commands/_execute.py), which attaches sandbox results to these reports.
"""

from __future__ import annotations

import fnmatch
import io
import os
import tokenize
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import structlog

from stopbox.detectors._cache import cache_key
from stopbox.detectors._registry import rule_by_id
from stopbox.detectors._scan import CACHE, parse_error_finding, policy_salt, scan
from stopbox.detectors._types import SEVERITY_ORDER, Category, Finding
from stopbox.harness.errors import UsageError
from stopbox.harness.severity import at_least, is_detection

__all__ = [
    "FileReport",
    "discover",
    "audit_paths",
    "summarise",
    "cross_check",
    "failing",
    "DEFAULT_EXCLUDES",
]

DEFAULT_EXCLUDES = (".git", ".venv", "venv", "__pycache__", ".tox", "node_modules", ".mypy_cache")
_PARALLEL_MIN_FILES = 8
_log = structlog.get_logger("stopbox.audit")


@dataclass(frozen=True, slots=True)
class FileReport:
    """One audited program: static findings, and with ``--execute`` its sandbox result and
    runtime findings.  ``path`` is as reported (relative to the working directory when under
    it)."""

    path: str
    findings: tuple[Finding, ...] = ()
    runtime: tuple[Finding, ...] = ()
    result: Any = None
    """The :class:`~harness.sandbox.ExecResult` of running the file (``--execute``), else None."""
    lines: int = 0
    baselined: int = 0
    probe: dict[str, Any] | None = None
    """With ``--execute``: how the file was driven (entry, task, status, utility calls ...)."""

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        return self.findings + self.runtime

    def to_json(self, *, execute: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "findings": [f.to_json() for f in self.findings]}
        if execute:
            out["result"] = self.result.to_json() if self.result is not None else None
            out["runtime_findings"] = [f.to_json() for f in self.runtime]
            out["probe"] = self.probe
        return out


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _excluded(path: Path, excludes: Sequence[str]) -> bool:
    text = path.as_posix()
    for pattern in excludes:
        if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern):
            return True
        if any(fnmatch.fnmatch(part, pattern) for part in path.parts):
            return True
    return False


def discover(paths: Sequence[str | Path], excludes: Sequence[str] = ()) -> list[Path]:
    """Files to audit: files as given, directories recursed for ``*.py`` minus excludes.

    A path that does not exist or cannot be read is a :class:`UsageError` (exit 2)."""
    if not paths:
        raise UsageError("no PATH given")
    all_excludes = (*DEFAULT_EXCLUDES, *excludes)
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise UsageError(f"{raw}: directory cannot be read")
            for child in sorted(path.rglob("*.py")):
                if child.is_file() and not _excluded(child.relative_to(path), all_excludes):
                    found.append(child)
        elif path.is_file():
            if not os.access(path, os.R_OK):
                raise UsageError(f"{raw}: file cannot be read")
            found.append(path)
        else:
            raise UsageError(f"{raw}: not a regular file or directory")
    return found


def _read_source(path: Path) -> tuple[str | None, str]:
    """(source, problem): source None when the bytes cannot be decoded as Python source."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), ""
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        return None, f"cannot be decoded as Python source ({exc}); it must not run"


_WORKER_POLICY: Any = None
"""The policy of the scanning worker processes (set once per worker by :func:`_init_worker`)."""


def _init_worker(policy: Any) -> None:
    global _WORKER_POLICY
    _WORKER_POLICY = policy


def _scan_one(item: tuple[str, str]) -> list[Finding]:
    path, source = item
    return scan(source, path, _WORKER_POLICY)


def default_jobs() -> int:
    """Scanning processes: the CPUs this process may run on (at most 8)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _chunksize(files: int, workers: int) -> int:
    """Several chunks per worker (load balance) but few enough that IPC stays negligible."""
    return max(1, min(16, files // (workers * 4)))


def _scan_parallel(
    misses: list[tuple[str, str]],
    policy: Any,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> list[list[Finding]]:
    """Scan in ``workers`` forked processes; results in the order of ``misses``.

    Largest files go first (a big file started last would leave the other workers idle); the
    results are put back in input order, so the output never depends on scheduling."""
    order = sorted(range(len(misses)), key=lambda i: len(misses[i][1]), reverse=True)
    results: list[list[Finding]] = [[] for _ in misses]
    context = get_context("fork")  # workers inherit the imported rules: no start-up per worker
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(policy,)) as pool:  # fmt: skip
        chunk = _chunksize(len(misses), workers)
        found_iter = pool.map(_scan_one, [misses[i] for i in order], chunksize=chunk)
        for done, (i, found) in enumerate(zip(order, found_iter, strict=True), start=1):
            results[i] = found
            if progress is not None:
                progress(done, len(misses))
    return results


def audit_paths(
    paths: Sequence[str | Path],
    policy: Any = None,
    *,
    excludes: Sequence[str] = (),
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[FileReport], dict[str, str]]:
    """Statically audit every file under ``paths``; returns (reports, sources by path).

    ``progress(done, total)`` is called as uncached files finish (for a progress bar)."""
    files = discover(paths, excludes)
    salt = policy_salt(policy)
    reports: dict[str, FileReport] = {}
    sources: dict[str, str] = {}
    misses: list[tuple[str, str]] = []
    for file in files:
        shown = _display(file)
        source, problem = _read_source(file)
        if source is None:
            info = rule_by_id("EVA002")
            finding = parse_error_finding(info, 1, 1, problem, "")
            reports[shown] = FileReport(shown, (finding,))
            continue
        sources[shown] = source
        hit = CACHE.get(cache_key(source, salt))
        if hit is not None:
            reports[shown] = FileReport(shown, hit, lines=source.count("\n") + 1)
        else:
            misses.append((shown, source))
    workers = jobs if jobs is not None else default_jobs()
    if misses:
        from stopbox.detectors._registry import static_rules

        static_rules()  # import libcst and the rules once, before any fork
    if workers > 1 and len(misses) >= _PARALLEL_MIN_FILES:
        results = _scan_parallel(misses, policy, workers, progress)
        for (shown, source), found in zip(misses, results, strict=True):
            CACHE.remember(cache_key(source, salt), tuple(found))
            reports[shown] = FileReport(shown, tuple(found), lines=source.count("\n") + 1)
    else:
        for done, (shown, source) in enumerate(misses, start=1):
            found = scan(source, shown, policy)
            reports[shown] = FileReport(shown, tuple(found), lines=source.count("\n") + 1)
            if progress is not None:
                progress(done, len(misses))
    ordered = [reports[_display(f)] for f in files if _display(f) in reports]
    return ordered, sources


def failing(files: Sequence[FileReport], fail_on: str) -> int:
    return sum(1 for r in files for f in r.all_findings if at_least(f.severity, fail_on))


def cross_check(files: Sequence[FileReport]) -> dict[str, Any]:
    """Static versus runtime, per (file, category), counting findings of medium or above."""
    pairs: list[dict[str, Any]] = []
    counts = Counter[str]()
    for r in files:
        static = {f.category for f in r.findings if is_detection(f.severity)}
        runtime = {f.category for f in r.runtime if is_detection(f.severity)}
        for category in sorted(static | runtime):
            s, t = category in static, category in runtime
            kind = "both" if s and t else "flagged_not_attempted" if s else "attempted_not_flagged"
            counts[kind] += 1
            pairs.append({"path": r.path, "category": category.value, "kind": kind})
    return {
        "flagged_not_attempted": counts["flagged_not_attempted"],
        "attempted_not_flagged": counts["attempted_not_flagged"],
        "both": counts["both"],
        "pairs": pairs,
    }


def summarise(
    files: Sequence[FileReport], fail_on: str, *, execute: bool = False
) -> dict[str, Any]:
    static = [f for r in files for f in r.findings]
    runtime = [f for r in files for f in r.runtime]
    every = static + runtime
    summary: dict[str, Any] = {
        "files": len(files),
        "files_with_findings": sum(1 for r in files if r.all_findings),
        "findings": len(static),
        "by_severity": {s.value: sum(1 for f in every if f.severity is s) for s in SEVERITY_ORDER},
        "by_category": {c.value: sum(1 for f in every if f.category is c) for c in Category},
        "by_rule": dict(sorted(Counter(f.rule_id for f in every).items())),
        "fail_on": fail_on,
        "at_or_above_fail_on": failing(files, fail_on),
        "baselined": sum(r.baselined for r in files),
        "lines": sum(r.lines for r in files),
    }
    if execute:
        summary["runtime_findings"] = len(runtime)
        summary["statuses"] = dict(
            Counter(r.result.status.value for r in files if r.result is not None)
        )
        summary["cross_check"] = cross_check(files)
    return summary
