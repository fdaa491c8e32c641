"""`stopbox compare RUN_A RUN_B [--format md|html|json]`: two runs side by side.

Utility gain and bypass frequency of each run, with the difference B − A and its 95% interval
(:mod:`stopbox.harness.reporting.compare`).  Prints the comparison, or writes it with ``--out``.
Either run may be interrupted (its report is rebuilt from the ledger, as `stopbox report` does).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from stopbox.harness.errors import UsageError

__all__ = ["register", "compare_command"]


def compare_command(
    run_a: Path = typer.Argument(..., help="The baseline run directory (A)."),
    run_b: Path = typer.Argument(..., help="The changed run directory (B)."),
    fmt: str = typer.Option("md", "--format", "-f", help="md, html or json."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
) -> None:
    """Compare two runs: utility gain and bypass side by side, B − A with its interval."""
    from stopbox.harness.reporting import load_report
    from stopbox.harness.reporting.compare import FORMATS, compare_reports, render_comparison

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    reports = []
    for path in (run_a, run_b):
        report = load_report(path)
        if report.get("schema") == "stopbox.study/1":
            raise UsageError(
                f"{path}: a bypass study, not a run (compare takes two run directories)"
            )
        reports.append(report)
    cmp = compare_reports(reports[0], reports[1], path_a=str(run_a), path_b=str(run_b))
    text = render_comparison(cmp, fmt)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the comparison ({exc.strerror})") from exc
    print(out)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
