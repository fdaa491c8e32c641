"""Markdown report of a run: GitHub-flavoured tables a reader can paste into a paper."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stopbox.harness.reporting._tables import (
    ALL_FAILED_NOTE,
    Section,
    Table,
    every_improver_failed,
    run_info,
    sections,
)
from stopbox.harness.reporting._text import is_interrupted, is_synthetic, report_title

__all__ = ["render", "markdown_table", "anchor", "contents"]

INTERRUPTED_NOTE = (
    "**This run was interrupted** before it finished: the tables cover only the work recorded "
    "so far."
)
SYNTHETIC_NOTE = (
    "Programs in this run came from the **synthetic proposer** (deterministic, seeded, not a "
    "language model); its numbers calibrate the harness and describe no model."
)


def markdown_table(table: Table) -> str:
    def cell(v: str) -> str:
        return v.replace("|", "\\|").replace("\n", " ")

    marks = ["---:" if table.align[i : i + 1] == "r" else "---" for i in range(len(table.header))]
    lines = [
        "| " + " | ".join(cell(h) for h in table.header) + " |",
        "| " + " | ".join(marks) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def contents(titles: list[str]) -> str:
    """A table of contents: one link per section heading."""
    return "## Contents\n\n" + "\n".join(f"- [{t}](#{anchor(t)})" for t in titles)


def render(report: dict[str, Any], run_dir: Path | None = None) -> str:
    """Render a run's ``report.json`` dict (docs/contracts.md §5) as Markdown."""
    all_sections: list[Section] = sections(report)
    parts = [f"# {report_title(report)}"]
    if is_interrupted(report):
        parts.append(f"> {INTERRUPTED_NOTE}")
    if is_synthetic(report):
        parts.append(f"> {SYNTHETIC_NOTE}")
    if every_improver_failed(report):
        parts.append(f"> **{ALL_FAILED_NOTE}**")
    parts.append(contents(["Run"] + [s.title for s in all_sections]))
    parts.append("## Run\n\n" + markdown_table(run_info(report)))
    for section in all_sections:
        body = "\n\n".join(markdown_table(t) for t in section.tables) or "_No data recorded._"
        parts.append(f"## {section.title}\n\n{body}")
    return "\n\n".join(parts) + "\n"
