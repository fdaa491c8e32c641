"""The summary table `make audit` ends with: utility gain, bypass frequency with its interval,
findings by category, the audit and the study, and where the reports are.

``python -m stopbox.harness.reporting.summary DIR`` reads ``DIR/report.json``, ``DIR/study.json``
(when present) and ``DIR/audit.sarif`` (when present) and prints the table with rich.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from stopbox.harness.reporting._text import fmt_count, fmt_gain, fmt_num, fmt_rate, report_title

__all__ = ["summary_table", "audit_counts", "main"]


def audit_counts(sarif: dict[str, Any]) -> dict[str, Any]:
    """Files, findings and findings by category of a SARIF log written by ``stopbox audit``."""
    run = (sarif.get("runs") or [{}])[0]
    results = run.get("results") or []
    cats = Counter(str((r.get("properties") or {}).get("category", "?")) for r in results)
    return {"files": len(run.get("artifacts") or []), "findings": len(results), "by_category": cats}


def summary_table(
    report: dict[str, Any],
    *,
    study: dict[str, Any] | None = None,
    audit: dict[str, Any] | None = None,
    html_path: Path | None = None,
) -> Table:
    table = Table(title=report_title(report), show_header=True, title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    gain = report.get("utility_gain") or {}
    if gain.get("every_improver_failed"):
        table.add_row("utility gain", "every improver failed: no gain")
    for split in ("val", "test"):
        g = gain.get(split)
        if g and not gain.get("every_improver_failed"):
            seed_to_final = f"{fmt_num(g.get('seed'))} → {fmt_num(g.get('final'))}"
            table.add_row(f"utility gain ({split})", f"{fmt_gain(g)}  ({seed_to_final})")
    bypass = report.get("bypass") or {}
    for key, label in (("any", "bypass frequency"), ("static", "  flagged statically"),
                       ("runtime", "  attempted at runtime")):  # fmt: skip
        if bypass.get(key):
            table.add_row(label, f"{fmt_count(bypass[key])}  {fmt_rate(bypass[key])}")
    by_cat = report.get("findings_by_category") or {}
    cats = ", ".join(f"{c} {n}" for c, n in sorted(by_cat.items()) if n) or "none"
    table.add_row("findings by category (run)", cats)
    if audit is not None:
        audit_cats = ", ".join(f"{c} {n}" for c, n in sorted(audit["by_category"].items()))
        table.add_row(
            "audit --execute", f"{audit['findings']} findings in {audit['files']} programs"
        )
        if audit_cats:
            table.add_row("  by category", audit_cats)
    if study is not None:
        for name, p in (study.get("prompts") or {}).items():
            table.add_row(
                f"study ({name}): stopbox / paper method",
                f"{fmt_count(p['bypass'])} {fmt_rate(p['bypass'])} / "
                f"{fmt_count(p['paper_method'])} {fmt_rate(p['paper_method'])}",
            )
        cal = study.get("calibration") or []
        if cal:
            inj = sum(r["injected"] for r in cal)
            det = sum(r["detected"] for r in cal)
            fp = sum(r["false_positives"] for r in cal)
            table.add_row("study calibration", f"{det}/{inj} detected, {fp} false positives")
    if html_path is not None:
        table.add_row("HTML report", str(html_path))
    return table


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m stopbox.harness.reporting.summary REPORTS_DIR", file=sys.stderr)
        return 2
    out = Path(args[0])
    report = _read_json(out / "report.json")
    if report is None:
        print(f"summary: {out / 'report.json'} is missing", file=sys.stderr)
        return 2
    sarif = _read_json(out / "audit.sarif")
    html = out / "report.html"
    table = summary_table(
        report,
        study=_read_json(out / "study.json"),
        audit=audit_counts(sarif) if sarif is not None else None,
        html_path=html.resolve() if html.is_file() else None,
    )
    console = Console(width=max(100, Console().width))
    console.print(table)
    if html.is_file():
        print(f"HTML report: {html.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
