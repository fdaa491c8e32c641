"""Load a run's ``report.json`` (docs/contracts.md §5) for rendering — also for interrupted runs.

A finished run has ``report.json``.  A run that was interrupted before the engine wrote it is
rebuilt from what the run directory holds (the ledger through :mod:`run_data`, otherwise the
stored programs, scanned again); such a report says ``status: "interrupted"``.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import structlog

from stopbox.harness.errors import RunDirError
from stopbox.harness.reporting._text import CATEGORIES
from stopbox.harness.stats import rate

__all__ = ["load_report", "normalise_report", "program_source"]

log = structlog.get_logger(__name__)


def load_report(run_dir: Path | str) -> dict[str, Any]:
    """Return the report dict of ``run_dir``; raises :class:`RunDirError` when it is not a run.

    A complete ``report.json`` is used as is.  Otherwise (the run was interrupted, or is still
    running) the report is rebuilt from the ledger (:mod:`run_data`), and failing that from
    the stored programs, scanned again; either way it says ``status: "interrupted"``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory")
    study = _study(run_dir)
    if study is not None:
        return study
    path = run_dir / "report.json"
    report: dict[str, Any] | None = None
    if path.is_file():
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunDirError(f"{path}: not a readable report.json ({exc})") from exc
        if not isinstance(report, dict):
            raise RunDirError(f"{path}: report.json is not a JSON object")
    complete = report is not None and report.get("run", {}).get("status", "complete") == "complete"
    if not complete and (run_dir / "ledger.sqlite").is_file():
        report = _rebuild_with_engine(run_dir) or report
    if report is None:
        report = _rebuild(run_dir)
    if not complete:
        report.setdefault("run", {})["status"] = "interrupted"
    return normalise_report(report)


def _study(run_dir: Path) -> dict[str, Any] | None:
    """``study.json`` of a bypass-study directory (one without a run's files), else None."""
    path = run_dir / "study.json"
    if not path.is_file() or any(
        (run_dir / name).exists() for name in ("report.json", "ledger.sqlite")
    ):
        return None
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path}: not a readable study.json ({exc})") from exc
    if not isinstance(study, dict):
        raise RunDirError(f"{path}: study.json is not a JSON object")
    study.setdefault("schema", "stopbox.study/1")
    return study


def _rebuild(run_dir: Path) -> dict[str, Any]:
    """A report for a run without report.json or a usable ledger (interrupted early)."""
    has_run_files = any(
        (run_dir / name).exists()
        for name in ("ledger.sqlite", "programs", "config.toml", "events.jsonl")
    )
    if not has_run_files:
        raise RunDirError(
            f"{run_dir}: not a stopbox run directory (no report.json, ledger.sqlite or programs/)"
        )
    return _rebuild_from_programs(run_dir)


def _rebuild_with_engine(run_dir: Path) -> dict[str, Any] | None:
    """The report builder over the ledger (what the engine writes at the end of a run)."""
    from stopbox.harness.reporting.run_data import build_report
    from stopbox.harness.store import RunStore

    try:
        store = RunStore(run_dir)
    except Exception as exc:  # not a usable ledger: fall back to the programs
        log.warning("report.ledger_unusable", run_dir=str(run_dir), error=repr(exc))
        return None
    try:
        return build_report(store)
    except Exception as exc:  # a half-written ledger: fall back to the programs
        log.warning("report.rebuild_failed", run_dir=str(run_dir), error=repr(exc))
        return None
    finally:
        store.close()


def _rebuild_from_programs(run_dir: Path) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if (run_dir / "config.toml").is_file():
        try:
            config = tomllib.loads((run_dir / "config.toml").read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            config = {}
    programs = []
    by_category = dict.fromkeys(CATEGORIES, 0)
    by_rule: dict[str, int] = {}
    flagged = 0
    for path in sorted((run_dir / "programs").glob("*.py")):
        findings = _scan(path)
        cats = {f["category"] for f in findings}
        for f in findings:
            by_rule[f["rule_id"]] = by_rule.get(f["rule_id"], 0) + 1
        for c in cats:
            by_category[c] = by_category.get(c, 0) + 1
        flagged += "sandbox-bypass" in cats
        programs.append(
            {
                "sha256": path.stem,
                "kind": "unknown",
                "iteration": None,
                "path": f"programs/{path.name}",
                "blocked": False,
                "findings": findings,
                "runtime": [],
                "injected": [],
            }
        )
    total = len(programs)
    lm = config.get("lm", {}) if isinstance(config.get("lm"), dict) else {}
    spec = str(lm.get("spec", config.get("lm", "unknown")))
    return {
        "schema": "stopbox.run/1",
        "run": {
            "id": str(config.get("id", run_dir.name)),
            "task": config.get("task"),
            "iterations": config.get("iterations"),
            "seed": config.get("seed"),
            "policy": config.get("policy"),
            "backend": config.get("backend"),
            "lm": {"spec": spec, "synthetic": spec.startswith("synthetic"), "label": spec},
            "status": "interrupted",
        },
        "iterations": [],
        "bypass": {
            "static": rate(flagged, total).to_json(),
            "any": rate(flagged, total).to_json(),
            "by_category": {c: rate(n, total).to_json() for c, n in by_category.items()},
        },
        "findings_by_rule": by_rule,
        "findings_by_category": {c: n for c, n in by_category.items() if n},
        "programs": programs,
    }


def _scan(path: Path) -> list[dict[str, Any]]:
    try:
        from stopbox import detectors
    except ImportError:
        return []
    scan = getattr(detectors, "scan", None)
    if scan is None:
        return []
    try:
        findings = scan(path.read_text(encoding="utf-8", errors="replace"), str(path))
    except Exception as exc:  # the report of an interrupted run must still render
        log.warning("report.rescan_failed", path=str(path), error=repr(exc))
        return []
    out: list[dict[str, Any]] = []
    for f in findings:
        d = f.to_json() if hasattr(f, "to_json") else dict(f)
        d.setdefault("source", "static")
        out.append(d)
    return out


def normalise_report(report: dict[str, Any]) -> dict[str, Any]:
    """Fill every section the renderers read with an empty default (partial reports render)."""
    report = dict(report)
    run = dict(report.get("run") or {})
    run.setdefault("status", "complete")
    run.setdefault("lm", {"spec": "unknown", "synthetic": False, "label": "unknown"})
    report["run"] = run
    for key, default in (
        ("iterations", []),
        ("utility_gain", {}),
        ("bypass", {}),
        ("calibration", []),
        ("findings_by_rule", {}),
        ("findings_by_category", {}),
        ("lm_usage", {}),
        ("transfer", []),
        ("programs", []),
    ):
        if report.get(key) is None:
            report[key] = default
    return report


def program_source(program: dict[str, Any], run_dir: Path | None) -> str | None:
    """The stored text of one generated program, or None when it cannot be read."""
    if isinstance(program.get("source"), str):
        return str(program["source"])
    if run_dir is None:
        return None
    candidates = []
    if program.get("path"):
        candidates.append(run_dir / str(program["path"]))
    if program.get("sha256"):
        candidates.append(run_dir / "programs" / f"{program['sha256']}.py")
    for path in candidates:
        try:
            resolved = path.resolve()
            if resolved.is_relative_to(run_dir.resolve()) and resolved.is_file():
                return resolved.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return None
