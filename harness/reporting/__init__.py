"""Report renderers, one module per format, all from the same ``report.json`` dict.

``load_report(run_dir)`` reads (or, for an interrupted run, rebuilds) the dict — or, for a study
directory, its ``study.json``; ``render_report(report, fmt, run_dir)`` renders a run as ``json``,
``md``, ``html``, ``sarif`` or ``csv``, and a study as ``json``, ``md`` or ``csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stopbox.harness.errors import UsageError
from stopbox.harness.reporting._load import load_report, normalise_report, program_source
from stopbox.harness.reporting._text import report_title

__all__ = [
    "FORMATS",
    "STUDY_FORMATS",
    "EXTENSIONS",
    "load_report",
    "normalise_report",
    "program_source",
    "render_report",
    "report_title",
]

FORMATS = ("json", "md", "html", "sarif", "csv")
EXTENSIONS = {"json": "json", "md": "md", "html": "html", "sarif": "sarif", "csv": "csv"}
STUDY_FORMATS = ("json", "md", "csv")
STUDY_SCHEMA = "stopbox.study/1"

Renderer = Callable[[dict[str, Any], Path | None], str]


def _renderer(fmt: str) -> Renderer:
    # Imported lazily: html pulls in matplotlib, which the other formats do not need.
    if fmt == "json":
        from stopbox.harness.reporting import json_

        return json_.render
    if fmt == "md":
        from stopbox.harness.reporting import markdown

        return markdown.render
    if fmt == "html":
        from stopbox.harness.reporting import html

        return html.render
    if fmt == "sarif":
        import stopbox.harness.reporting.run_sarif as run_sarif

        return run_sarif.render
    if fmt == "csv":
        from stopbox.harness.reporting import csv_

        return csv_.render
    raise UsageError(f"unknown report format {fmt!r}; expected one of: {', '.join(FORMATS)}")


def _render_study(study: dict[str, Any], fmt: str) -> str:
    if fmt == "md":
        from stopbox.harness.reporting import study_markdown

        return study_markdown.render(study)
    if fmt == "csv":
        from stopbox.harness.reporting import csv_

        return csv_.render_study(study)
    if fmt == "json":
        from stopbox.harness.reporting import json_

        return json_.render(study)
    raise UsageError(
        f"--format {fmt!r}: a bypass study renders as one of: {', '.join(STUDY_FORMATS)}"
    )


def render_report(report: dict[str, Any], fmt: str, run_dir: Path | None = None) -> str:
    """Render ``report`` in ``fmt`` (one of :data:`FORMATS`; a study: :data:`STUDY_FORMATS`)."""
    if report.get("schema") == STUDY_SCHEMA:
        return _render_study(report, fmt)
    return _renderer(fmt)(normalise_report(report), run_dir)
