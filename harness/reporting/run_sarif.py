"""SARIF 2.1.0 of every program a run generated, through the SARIF renderer
(:func:`stopbox.harness.reporting.sarif.render_sarif`); this module only turns report.json's
programs into its input (one ``FileReport`` per program, at ``programs/<sha256>.py`` relative to
the run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

__all__ = ["render", "program_file_reports"]

log = structlog.get_logger("stopbox.reporting")


def _finding(data: dict[str, Any], known: dict[str, Any], source: str) -> Any | None:
    from stopbox.detectors import Finding

    rule_id = str(data.get("rule_id"))
    info = known.get(rule_id)
    if info is None:
        log.warning("sarif.unknown_rule", rule_id=rule_id)
        return None
    return Finding.from_json(
        {
            "name": info.name,
            "confidence": info.confidence.value,
            "severity": info.severity.value,
            "line": 0,
            "col": 0,
            "message": "",
            **{k: v for k, v in data.items() if v is not None},
            "category": info.category.value,
            "rule_id": rule_id,
            "source": data.get("source") or source,
        }
    )


def program_file_reports(report: dict[str, Any]) -> list[Any]:
    """One ``detectors.FileReport`` per program of the run, with its static and runtime findings."""
    from stopbox.detectors import FileReport, all_rules

    known = {info.id: info for info in all_rules()}
    files = []
    for p in report.get("programs") or []:
        static = [_finding(f, known, "static") for f in p.get("findings") or []]
        runtime = [_finding(f, known, "runtime") for f in p.get("runtime") or []]
        files.append(
            FileReport(
                path=str(p.get("path") or f"programs/{p.get('sha256')}.py"),
                findings=tuple(f for f in static if f is not None),
                runtime=tuple(f for f in runtime if f is not None),
            )
        )
    return files


def render(report: dict[str, Any], run_dir: Path | None = None) -> str:
    from stopbox.harness.reporting.sarif import render_sarif

    return render_sarif(program_file_reports(report))
