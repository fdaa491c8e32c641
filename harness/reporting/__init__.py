"""Report renderers, one module per format, all from the same ``report.json`` dict.

``load_report(run_dir)`` reads (or, for an interrupted run, rebuilds) the dict;
``render_report(report, fmt, run_dir)`` renders it as ``json``, ``md``, ``html`` or ``sarif``.
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
    "EXTENSIONS",
    "load_report",
    "normalise_report",
    "program_source",
    "render_report",
    "report_title",
]

FORMATS = ("json", "md", "html", "sarif")
EXTENSIONS = {"json": "json", "md": "md", "html": "html", "sarif": "sarif"}

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
    raise UsageError(f"unknown report format {fmt!r}; expected one of: {', '.join(FORMATS)}")


def render_report(report: dict[str, Any], fmt: str, run_dir: Path | None = None) -> str:
    """Render ``report`` in ``fmt`` (one of :data:`FORMATS`)."""
    return _renderer(fmt)(normalise_report(report), run_dir)
