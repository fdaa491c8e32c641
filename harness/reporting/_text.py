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
    "fmt_gain",
    "fmt_interval",
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
    """``0.42% (0.31–0.57)`` from a rate object; ``–`` when missing or out of nothing (a rate
    over zero programs is not 0%, and its interval 0–100% says nothing)."""
    if not r or not int(r.get("total", 0)):
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


def fmt_interval(g: dict[str, Any] | None, digits: int = 3) -> str:
    """``+0.081 to +0.094 (n=5)`` from a gain object; ``–`` without an interval."""
    if not g or g.get("ci_low") is None or g.get("ci_high") is None:
        n = (g or {}).get("n")
        return f"– (n={n})" if n is not None else "–"
    return (
        f"{float(g['ci_low']):+.{digits}f} to {float(g['ci_high']):+.{digits}f} (n={int(g['n'])})"
    )


def fmt_gain(g: dict[str, Any] | None, digits: int = 3) -> str:
    """``+0.088 (95% CI +0.081 to +0.094, n=5)``: a utility gain beside its bootstrap interval."""
    if not g or g.get("gain") is None:
        return "–"
    value = f"{float(g['gain']):+.{digits}f}"
    if g.get("ci_low") is None:
        return f"{value} (no interval, n={g.get('n', '?')})" if "n" in g else value
    low, high = f"{float(g['ci_low']):+.{digits}f}", f"{float(g['ci_high']):+.{digits}f}"
    return f"{value} (95% CI {low} to {high}, n={int(g['n'])})"


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
    return bool(report.get("run", {}).get("status", "complete") != "complete")


def report_title(report: dict[str, Any]) -> str:
    """The report's title; a synthetic run always says that no language model was used."""
    run = report.get("run", {})
    title = str(report.get("title") or f"STOP run {run.get('id', '?')} on {run.get('task', '?')}")
    if is_synthetic(report) and NO_LM_NOTE not in title.lower():
        title += f" — synthetic proposer, {NO_LM_NOTE}"
    if is_interrupted(report) and "interrupted" not in title.lower():
        title += " (interrupted run)"
    return title
