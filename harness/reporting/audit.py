"""Audit output: text (rich, grouped by file), JSON (DESIGN.md §7), SARIF, Markdown and HTML
tables, and the rule list for ``stopbox rules``.

Moved here from ``detectors/_report.py`` (issue 13): reporting owns every renderer, and the
detectors (a low layer) import nothing of reporting; ``stopbox audit`` and ``stopbox rules`` call
these renderers with the detectors' ``FileReport`` and ``RuleInfo`` values."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from io import StringIO
from typing import Any

from stopbox.detectors._audit import FileReport, summarise
from stopbox.detectors._types import SEVERITY_ORDER, Category, RuleInfo, Severity
from stopbox.harness.reporting.sarif import render_sarif

__all__ = ["render_audit", "render_rules", "AUDIT_FORMATS", "RULE_FORMATS"]

AUDIT_FORMATS = ("text", "json", "sarif", "md", "html")
RULE_FORMATS = ("text", "json", "md")
_STYLE = {
    Severity.LOW: "dim",
    Severity.MEDIUM: "yellow",
    Severity.HIGH: "red",
    Severity.CRITICAL: "bold red",
}


def render_audit(
    files: Sequence[FileReport], fmt: str, fail_on: str, *, execute: bool, color: bool = False
) -> str:
    summary = summarise(files, fail_on, execute=execute)
    if fmt == "json":
        data = {"files": [r.to_json(execute=execute) for r in files], "summary": summary}
        return json.dumps(data, indent=2) + "\n"
    if fmt == "sarif":
        return render_sarif(files)
    if fmt == "md":
        return _markdown(files, summary)
    if fmt == "html":
        return _html(files, summary)
    return _text(files, summary, color=color)


def _rows(files: Sequence[FileReport]) -> list[tuple[str, Any]]:
    return [(r.path, f) for r in files for f in (*r.findings, *r.runtime)]


def _text(files: Sequence[FileReport], summary: dict[str, Any], *, color: bool) -> str:
    from rich.console import Console
    from rich.table import Table

    buf = StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=120)
    for report in files:
        found = (*report.findings, *report.runtime)
        if not found:
            continue
        console.print(f"[bold]{report.path}[/bold]  ({len(found)} finding(s))", highlight=False)
        for f in found:
            where = f"{f.line}:{f.col}" if f.source == "static" else "runtime"
            sev = f"[{_STYLE[f.severity]}]{f.severity.value:<8}[/]"
            console.print(
                f"  {where:>9}  {sev} {f.rule_id} {f.name} [{f.category.value}] — {f.message}",
                highlight=False,
                soft_wrap=True,
            )
            if f.snippet:
                console.print(
                    f"             [dim]{f.snippet}[/dim]", highlight=False, soft_wrap=True
                )
        if report.result is not None:
            console.print(f"  sandbox: status {report.result.status.value}", highlight=False)
    table = Table(title="findings by category and severity", show_lines=False)
    table.add_column("category")
    for sev in SEVERITY_ORDER:
        table.add_column(sev.value, justify="right")
    rows = _rows(files)
    if not rows:
        console.print("no findings", highlight=False)
    for cat in Category:
        counts = [
            sum(1 for _, f in rows if f.category is cat and f.severity is s) for s in SEVERITY_ORDER
        ]
        if any(counts):
            table.add_row(cat.value, *(str(c) for c in counts))
    if rows:
        console.print(table)
    console.print(
        f"{summary['files']} file(s), {summary['lines']} lines, {summary['findings']} static "
        f"finding(s)"
        + (
            f", {summary.get('runtime_findings', 0)} runtime"
            if "runtime_findings" in summary
            else ""
        )
        + f", {summary['baselined']} accepted by baseline; "
        f"{summary['at_or_above_fail_on']} at or above {summary['fail_on']}",
        highlight=False,
    )
    if "cross_check" in summary:
        cc = summary["cross_check"]
        console.print(
            f"cross-check: flagged but not attempted {cc['flagged_not_attempted']}, attempted but "
            f"not flagged {cc['attempted_not_flagged']}, both {cc['both']}",
            highlight=False,
        )
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(files: Sequence[FileReport], summary: dict[str, Any]) -> str:
    lines = [
        "# stopbox audit",
        "",
        f"{summary['files']} file(s), {summary['findings']} static finding(s), "
        f"{summary['at_or_above_fail_on']} at or above `{summary['fail_on']}`.",
        "",
        "| file | line | rule | category | severity | message |",
        "|---|---:|---|---|---|---|",
    ]
    for path, f in _rows(files):
        lines.append(
            f"| {_md_cell(path)} | {f.line or 'runtime'} | {f.rule_id} {f.name} | "
            f"{f.category.value} | {f.severity.value} | {_md_cell(f.message)} |"
        )
    lines += ["", "| severity | findings |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in summary["by_severity"].items()]
    return "\n".join(lines) + "\n"


def _html(files: Sequence[FileReport], summary: dict[str, Any]) -> str:
    e = html.escape
    rows = "\n".join(
        f"<tr><td>{e(path)}</td><td>{f.line or 'runtime'}</td><td>{e(f.rule_id)} {e(f.name)}</td>"
        f"<td>{e(f.category.value)}</td>"
        f"<td class='{e(f.severity.value)}'>{e(f.severity.value)}</td>"
        f"<td>{e(f.message)}</td></tr>"
        for path, f in _rows(files)
    )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>stopbox audit</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px}.critical,.high{color:#b00}"
        ".medium{color:#a60}</style></head><body>\n<h1>stopbox audit</h1>\n"
        f"<p>{summary['files']} file(s), {summary['findings']} static finding(s), "
        f"{summary['at_or_above_fail_on']} at or above {e(summary['fail_on'])}.</p>\n"
        "<table><thead><tr><th>file</th><th>line</th><th>rule</th><th>category</th>"
        f"<th>severity</th><th>message</th></tr></thead><tbody>\n{rows}\n</tbody></table>\n"
        "</body></html>\n"
    )


def render_rules(rules: Sequence[RuleInfo], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([r.to_json() for r in rules], indent=2) + "\n"
    if fmt == "md":
        return _rules_markdown(rules)
    width = max(len(r.name) for r in rules)
    lines = [
        f"{r.id:<7} {r.name:<{width}} {r.category.value:<20} {r.severity.value:<8} {r.summary}"
        for r in rules
    ]
    return "\n".join(lines) + "\n"


def _rules_markdown(rules: Sequence[RuleInfo]) -> str:
    out = [
        "# stopbox rules",
        "",
        "Generated by `stopbox rules --format md`; do not edit by hand "
        "(tests/unit/detectors/test_rule_docs.py checks it is current).",
        "",
        "| id | name | category | severity | confidence | source | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rules:
        out.append(
            f"| [{r.id}](#{r.id.lower()}) | {r.name} | {r.category.value} | {r.severity.value} | "
            f"{r.confidence.value} | {r.source} | {_md_cell(r.summary)} |"
        )
    for r in rules:
        out += ["", f"## {r.id}", "", f"**{r.name}** — {r.category.value}, {r.severity.value}", ""]
        for block in r.doc.split("\n\n"):
            if block.startswith(("VALID:", "INVALID:")):
                head, _, body = block.partition("\n")
                examples = [_dedent(x) for x in body.split("\n--\n")]
                out.append(f"{head}")
                for ex in examples:
                    out += ["", "```python", ex, "```"]
                out.append("")
            else:
                out += [block, ""]
    return "\n".join(line.rstrip() for line in out).rstrip() + "\n"


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n")
