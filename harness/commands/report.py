"""`stopbox report DIR [--format json|md|html|sarif|csv]`: re-render a run's report.

The rendered report is written into the run directory as ``report.<ext>`` and its path printed
(``--stdout`` prints the report instead, ``--out FILE`` writes it elsewhere).  ``report.json`` of
a finished run is never rewritten; for an interrupted run without one, ``--format json`` writes
``report.partial.json``.  Works on interrupted runs: the report then says so.  A bypass-study
directory renders as md or csv (``--format csv``: flat tables for pandas, runs and studies).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from stopbox.harness.errors import UsageError

__all__ = ["register", "report_command", "write_report"]


def write_report(run_dir: Path, fmt: str, out: Path | None = None) -> Path:
    """Render the run in ``run_dir`` as ``fmt`` and write it; returns the file written."""
    from stopbox.harness.reporting import EXTENSIONS, load_report, render_report

    report = load_report(run_dir)
    if out is None:
        if fmt == "json" and (run_dir / "report.json").is_file():
            return run_dir / "report.json"
        name = "report.partial.json" if fmt == "json" else f"report.{EXTENSIONS[fmt]}"
        out = run_dir / name
    text = render_report(report, fmt, run_dir)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the report ({exc.strerror})") from exc
    return out


def report_command(
    run_dir: Path = typer.Argument(..., help="A run directory (runs/<id>), finished or not."),
    fmt: str = typer.Option("html", "--format", "-f", help="json, md, html, sarif or csv."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of DIR."),
    stdout: bool = typer.Option(False, "--stdout", help="Print the report instead of writing."),
) -> None:
    """Re-render the report of a run (also an interrupted one) as JSON, Markdown, HTML or SARIF."""
    from stopbox.harness.reporting import FORMATS, load_report, render_report

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if stdout:
        sys.stdout.write(render_report(load_report(run_dir), fmt, run_dir))
        return
    written = write_report(run_dir, fmt, out)
    print(written)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
