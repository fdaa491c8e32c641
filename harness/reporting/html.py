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
from stopbox.harness.reporting._tables import (
    ALL_FAILED_NOTE,
    Section,
    every_improver_failed,
    run_info,
    sections,
)
from stopbox.harness.reporting._text import (
    fmt_count,
    fmt_interval,
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
    transferred: bool = False
    """The improver a transfer evaluated (``stopbox transfer --improver FILE``)."""


@dataclass(frozen=True, slots=True)
class Card:
    """One headline card: a measure, its value and its 95% interval side by side."""

    id: str
    label: str
    value: str
    interval: str
    detail: str


def _plot_list(report: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    iterations = report.get("iterations") or []
    return [
        ("plot-meta-utility",
         "Meta-utility per iteration (val and test), bootstrap 95% intervals over the test "
         f"instances; y-axis from {_plots.META_UTILITY_BASELINE_NOTE}",
         _plots.meta_utility_plot(iterations)),
        ("plot-bypass", "Bypass rate per iteration with Wilson 95% intervals",
         _plots.bypass_plot(iterations)),
        ("plot-categories", "Findings by category",
         _plots.findings_plot(report.get("findings_by_category") or {}, "findings")),
        ("plot-rules", "Findings by rule",
         _plots.findings_plot(report.get("findings_by_rule") or {}, "findings")),
        ("plot-lm-usage", "LM usage and cost per iteration", _plots.lm_usage_plot(iterations)),
    ]  # fmt: skip


def _gain_card(split: str, g: dict[str, Any] | None, failed: bool) -> Card:
    if failed:
        return Card(f"gain-{split}", f"utility gain ({split})", "every improver failed",
                    "no gain reported", "")  # fmt: skip
    g = g or {}
    seed_final = f"û {g['seed']:.3f} → {g['final']:.3f}" if g.get("seed") is not None else ""
    return Card(f"gain-{split}", f"utility gain ({split})", fmt_signed(g.get("gain")),
                f"95% CI {fmt_interval(g)}, paired bootstrap", seed_final)  # fmt: skip


def _cards(report: dict[str, Any]) -> list[Card]:
    """Utility gain (val, test) and bypass frequency, each with its interval, side by side."""
    gain = report.get("utility_gain") or {}
    failed = every_improver_failed(report)
    bypass = (report.get("bypass") or {}).get("any")
    rate_text = fmt_rate(bypass)
    value, _, interval = rate_text.partition(" ")
    return [
        _gain_card("val", gain.get("val"), failed),
        _gain_card("test", gain.get("test"), failed),
        Card("bypass-rate", "bypass frequency", value,
             f"95% CI {interval.strip('()')}, Wilson" if interval else "–",
             f"{fmt_count(bypass)} programs"),
    ]  # fmt: skip


def render(report: dict[str, Any], run_dir: Path | None = None) -> str:
    """Render a run's ``report.json`` dict as one HTML page (``run_dir`` supplies program text)."""
    all_sections: list[Section] = sections(report)
    toc = [("run", "Run"), ("plots", "Plots")] + [(s.id, s.title) for s in all_sections]
    toc.append(("improvers", "Improver code per iteration"))
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=report_title(report),
        info=run_info(report),
        interrupted=INTERRUPTED_NOTE if is_interrupted(report) else None,
        synthetic=SYNTHETIC_NOTE if is_synthetic(report) else None,
        all_failed=ALL_FAILED_NOTE if every_improver_failed(report) else None,
        cards=_cards(report),
        toc=toc,
        plots=_plot_list(report),
        sections=all_sections,
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
    for imp in report.get("transfer_improver") or []:
        sha = imp.get("sha256")
        if sha and sha not in seen:
            seen.add(sha)
            program = programs.get(sha) or {"sha256": sha, "path": f"programs/{sha}.py"}
            views.append(_improver_view(None, program, run_dir, transferred=True))
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
    iteration: Any,
    program: dict[str, Any],
    run_dir: Path | None,
    *,
    selected: bool = True,
    transferred: bool = False,
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
        transferred=transferred,
    )
