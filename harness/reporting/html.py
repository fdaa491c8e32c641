"""Self-contained HTML report of a run: the same tables as the Markdown report, plots inline as
base64 PNG, and the improver of each iteration with its findings marked at their lines.  The page
loads nothing from the network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from stopbox.harness.reporting import _plots
from stopbox.harness.reporting._load import program_source
from stopbox.harness.reporting._tables import run_info, sections
from stopbox.harness.reporting._text import (
    fmt_rate,
    fmt_signed,
    is_interrupted,
    is_synthetic,
    report_title,
)
from stopbox.harness.reporting.markdown import INTERRUPTED_NOTE, SYNTHETIC_NOTE

__all__ = ["render"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("stopbox.harness.reporting", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class CodeLine:
    number: int
    text: str
    findings: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ImproverView:
    iteration: Any
    sha256: str
    lines: tuple[CodeLine, ...]
    unplaced: tuple[dict[str, Any], ...]
    """Findings without a line inside the program (runtime events, line 0)."""
    blocked: bool
    missing: bool
    selected: bool = True
    """False for an improver that was generated but not chosen (listed for its findings)."""


def render(report: dict[str, Any], run_dir: Path | None = None) -> str:
    """Render a run's ``report.json`` dict as one HTML page (``run_dir`` supplies program text)."""
    iterations = report.get("iterations") or []
    plots = [
        ("plot-meta-utility", "Meta-utility per iteration (val and test) against the seed",
         _plots.meta_utility_plot(iterations)),
        ("plot-bypass", "Bypass rate per iteration with Wilson 95% intervals",
         _plots.bypass_plot(iterations)),
        ("plot-categories", "Findings by category",
         _plots.findings_plot(report.get("findings_by_category") or {}, "findings")),
        ("plot-rules", "Findings by rule",
         _plots.findings_plot(report.get("findings_by_rule") or {}, "findings")),
        ("plot-lm-usage", "LM usage and cost per iteration", _plots.lm_usage_plot(iterations)),
    ]  # fmt: skip
    gain = report.get("utility_gain") or {}
    bypass = report.get("bypass") or {}
    headline = {
        "gain_val": fmt_signed((gain.get("val") or {}).get("gain")),
        "gain_test": fmt_signed((gain.get("test") or {}).get("gain")),
        "bypass": fmt_rate(bypass.get("any")),
        "bypass_counts": (
            f"{bypass['any']['count']}/{bypass['any']['total']}" if bypass.get("any") else "–"
        ),
    }
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=report_title(report),
        info=run_info(report),
        interrupted=INTERRUPTED_NOTE if is_interrupted(report) else None,
        synthetic=SYNTHETIC_NOTE if is_synthetic(report) else None,
        headline=headline,
        plots=plots,
        sections=sections(report),
        improvers=_improvers(report, run_dir),
    )


def _improvers(report: dict[str, Any], run_dir: Path | None) -> list[ImproverView]:
    programs = {p.get("sha256"): p for p in report.get("programs") or []}
    seen: set[str] = set()
    views = []
    for it in report.get("iterations") or []:
        sha = it.get("improver_sha256")
        if not sha or sha in seen:
            continue
        seen.add(sha)
        program = programs.get(sha) or {"sha256": sha, "path": f"programs/{sha}.py"}
        views.append(_improver_view(it.get("iteration"), program, run_dir))
    # improvers that were generated but never selected are listed too when they have findings
    for p in report.get("programs") or []:
        sha = p.get("sha256")
        if (
            p.get("kind") == "improver"
            and sha not in seen
            and (p.get("findings") or p.get("runtime"))
        ):
            seen.add(sha)
            views.append(_improver_view(p.get("iteration"), p, run_dir, selected=False))
    return views


def _improver_view(
    iteration: Any, program: dict[str, Any], run_dir: Path | None, *, selected: bool = True
) -> ImproverView:
    findings = list(program.get("findings") or []) + list(program.get("runtime") or [])
    source = program_source(program, run_dir)
    text_lines = source.splitlines() if source is not None else []
    by_line: dict[int, list[dict[str, Any]]] = {}
    unplaced = []
    for f in findings:
        line = int(f.get("line") or 0)
        if 1 <= line <= len(text_lines):
            by_line.setdefault(line, []).append(f)
        else:
            unplaced.append(f)
    lines = tuple(
        CodeLine(n, text, tuple(by_line.get(n, ()))) for n, text in enumerate(text_lines, start=1)
    )
    return ImproverView(
        iteration=iteration,
        sha256=str(program.get("sha256", "")),
        lines=lines,
        unplaced=tuple(unplaced),
        blocked=bool(program.get("blocked")),
        missing=source is None,
        selected=selected,
    )
