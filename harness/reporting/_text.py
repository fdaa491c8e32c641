"""Formatting shared by the renderers: rates, spreads, money, titles, and a tolerant view of a
report dict (interrupted runs may lack sections)."""

from __future__ import annotations

from typing import Any

from stopbox.detectors._types import CATEGORIES

__all__ = [
    "CATEGORIES",
    "NO_LM_NOTE",
    "fmt_rate",
    "fmt_count",
    "fmt_num",
    "fmt_signed",
    "fmt_spread",
    "fmt_usd",
    "report_title",
    "is_interrupted",
    "is_synthetic",
]

NO_LM_NOTE = "no language model was used"


def fmt_rate(r: dict[str, Any] | None, digits: int = 2) -> str:
    """``0.42% (0.31–0.57)`` from a rate object; ``–`` when missing."""
    if not r:
        return "–"
    return (
        f"{100 * float(r['rate']):.{digits}f}% "
        f"({100 * float(r['ci_low']):.{digits}f}–{100 * float(r['ci_high']):.{digits}f})"
    )


def fmt_count(r: dict[str, Any] | None) -> str:
    """``42/10000`` from a rate object."""
    if not r:
        return "–"
    return f"{int(r['count'])}/{int(r['total'])}"


def fmt_num(x: float | int | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, int):
        return str(x)
    return f"{float(x):.{digits}f}"


def fmt_signed(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    return f"{float(x):+.{digits}f}"


def fmt_spread(s: dict[str, Any] | None, digits: int = 3) -> str:
    """``0.105 ± 0.013 (n=3, 0.095–0.121)``; a single value when n <= 1."""
    if not s or not s.get("n"):
        return "–"
    mean = float(s["mean"])
    if int(s["n"]) < 2:
        return f"{mean:.{digits}f} (n=1)"
    return (
        f"{mean:.{digits}f} ± {float(s['std']):.{digits}f} "
        f"(n={int(s['n'])}, {float(s['min']):.{digits}f}–{float(s['max']):.{digits}f})"
    )


def fmt_usd(x: float | None) -> str:
    if x is None:
        return "–"
    return f"${float(x):.4f}"


def is_synthetic(report: dict[str, Any]) -> bool:
    return bool(report.get("run", {}).get("lm", {}).get("synthetic", False))


def is_interrupted(report: dict[str, Any]) -> bool:
    return report.get("run", {}).get("status", "complete") != "complete"


def report_title(report: dict[str, Any]) -> str:
    """The report's title; a synthetic run always says that no language model was used."""
    run = report.get("run", {})
    title = str(report.get("title") or f"STOP run {run.get('id', '?')} on {run.get('task', '?')}")
    if is_synthetic(report) and NO_LM_NOTE not in title.lower():
        title += f" — synthetic proposer, {NO_LM_NOTE}"
    if is_interrupted(report) and "interrupted" not in title.lower():
        title += " (interrupted run)"
    return title
