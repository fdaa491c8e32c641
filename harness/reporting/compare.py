"""Two runs side by side (``stopbox compare RUN_A RUN_B``): utility gain and bypass frequency of
each, and the difference B − A with its 95% interval — what a user looks at after changing a
model or a policy.

* Utility: per split, each run's gain (final − seed improver, paired over its test instances) and
  the difference of the two gains, with a percentile-bootstrap interval that resamples each run's
  paired differences independently (:mod:`stopbox.harness.reporting.intervals`).
* Bypass: each run's rate (Wilson 95%) and the difference with Newcombe's hybrid score interval.

A side that lacks the data (an interrupted run, a run without repeats) shows "–", never 0.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np

from stopbox.harness.errors import UsageError
from stopbox.harness.reporting._tables import Table
from stopbox.harness.reporting._text import fmt_count, fmt_num, fmt_rate, fmt_signed, report_title
from stopbox.harness.reporting.intervals import METHOD, MIN_N, RESAMPLES, SEED
from stopbox.harness.reporting.markdown import markdown_table
from stopbox.harness.stats import wilson_interval

__all__ = ["FORMATS", "compare_reports", "render_comparison", "rate_difference", "gain_difference"]

FORMATS = ("md", "html", "json")
SCHEMA = "stopbox.compare/1"
BYPASS_KEYS = (("any", "bypass frequency"), ("static", "flagged statically"),
               ("runtime", "attempted at runtime"))  # fmt: skip


def rate_difference(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """``b − a`` of two rates with Newcombe's hybrid score 95% interval; None without data."""
    if not a or not b or not a.get("total") or not b.get("total"):
        return None
    p1, p2 = a["count"] / a["total"], b["count"] / b["total"]
    l1, u1 = wilson_interval(a["count"], a["total"])
    l2, u2 = wilson_interval(b["count"], b["total"])
    d = p2 - p1
    return {
        "difference": d,
        "ci_low": d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2),
        "ci_high": d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2),
        "method": "Newcombe hybrid score, 95%",
    }


def _paired_diffs(report: dict[str, Any], split: str) -> list[float]:
    its = report.get("iterations") or []
    if len(its) < 2:
        return []
    seed, final = its[0].get(f"{split}_values") or [], its[-1].get(f"{split}_values") or []
    return [float(b) - float(a) for a, b in zip(seed, final, strict=False)]


def gain_difference(da: list[float], db: list[float]) -> dict[str, Any] | None:
    """Mean(db) − mean(da) with a bootstrap 95% interval resampling each side independently."""
    if not da or not db:
        return None
    d = float(np.mean(db) - np.mean(da))
    out: dict[str, Any] = {"difference": d, "ci_low": None, "ci_high": None,
                           "n_a": len(da), "n_b": len(db), "method": METHOD}  # fmt: skip
    if len(da) >= MIN_N and len(db) >= MIN_N:
        rng = np.random.default_rng(SEED)
        xa, xb = np.asarray(da), np.asarray(db)
        ma = xa[rng.integers(0, xa.size, size=(RESAMPLES, xa.size))].mean(axis=1)
        mb = xb[rng.integers(0, xb.size, size=(RESAMPLES, xb.size))].mean(axis=1)
        low, high = np.quantile(mb - ma, [0.025, 0.975])
        out.update(ci_low=float(low), ci_high=float(high))
    return out


def _run_summary(report: dict[str, Any], path: str) -> dict[str, Any]:
    run = report.get("run") or {}
    return {
        "path": path,
        "id": run.get("id"),
        "title": report_title(report),
        "status": run.get("status", "complete"),
        "lm": (run.get("lm") or {}).get("label") or (run.get("lm") or {}).get("spec"),
        "policy": run.get("policy"),
        "backend": run.get("backend"),
    }


def compare_reports(
    a: dict[str, Any], b: dict[str, Any], *, path_a: str = "A", path_b: str = "B"
) -> dict[str, Any]:
    """The comparison as data (the JSON format)."""
    utility = {}
    for split in ("val", "test"):
        ga = (a.get("utility_gain") or {}).get(split) or {}
        gb = (b.get("utility_gain") or {}).get(split) or {}
        utility[split] = {
            "a": ga or None,
            "b": gb or None,
            "difference": gain_difference(_paired_diffs(a, split), _paired_diffs(b, split)),
        }
    bypass = {}
    for key, _ in BYPASS_KEYS:
        ra, rb = (a.get("bypass") or {}).get(key), (b.get("bypass") or {}).get(key)
        bypass[key] = {"a": ra, "b": rb, "difference": rate_difference(ra, rb)}
    return {
        "schema": SCHEMA,
        "a": _run_summary(a, path_a),
        "b": _run_summary(b, path_b),
        "utility_gain": utility,
        "bypass": bypass,
    }


def _pp(x: float) -> str:
    return f"{100 * x:+.2f} pp"


def _diff_text(d: dict[str, Any] | None, *, percent: bool) -> tuple[str, str]:
    if not d:
        return "–", "–"
    show = _pp if percent else (lambda x: fmt_signed(x))
    if d.get("ci_low") is None:
        return show(d["difference"]), "– (too few values)"
    return show(d["difference"]), f"{show(d['ci_low'])} to {show(d['ci_high'])}"


def _gain_cell(g: dict[str, Any] | None) -> str:
    if not g or g.get("gain") is None:
        return "–"
    if g.get("ci_low") is None:
        return fmt_signed(g["gain"])
    return f"{fmt_signed(g['gain'])} ({fmt_signed(g['ci_low'])} to {fmt_signed(g['ci_high'])})"


def tables(cmp: dict[str, Any]) -> list[tuple[str, Table]]:
    """The comparison's tables (shared by Markdown and HTML)."""
    a, b = cmp["a"], cmp["b"]
    runs = Table(
        ("field", "run A", "run B"),
        tuple((k, str(a.get(k) or "–"), str(b.get(k) or "–"))
              for k in ("path", "id", "status", "lm", "policy", "backend")),
        "lll",
    )  # fmt: skip
    urows = []
    for split, u in cmp["utility_gain"].items():
        diff, ci = _diff_text(u["difference"], percent=False)
        ua, ub = u["a"] or {}, u["b"] or {}
        urows.append((split, fmt_num(ua.get("final")), _gain_cell(ua), fmt_num(ub.get("final")),
                      _gain_cell(ub), diff, ci))  # fmt: skip
    utility = Table(
        ("split", "û final A", "gain A (95% CI)", "û final B", "gain B (95% CI)",
         "gain B − A", "95% CI (bootstrap)"),
        tuple(urows), "lrrrrrr",
    )  # fmt: skip
    brows = []
    for key, label in BYPASS_KEYS:
        entry = cmp["bypass"][key]
        diff, ci = _diff_text(entry["difference"], percent=True)
        brows.append((label, fmt_count(entry["a"]), fmt_rate(entry["a"]), fmt_count(entry["b"]),
                      fmt_rate(entry["b"]), diff, ci))  # fmt: skip
    bypass = Table(
        ("measure", "A", "rate A (Wilson 95%)", "B", "rate B (Wilson 95%)", "B − A",
         "95% CI (Newcombe)"),
        tuple(brows), "lrrrrrr",
    )  # fmt: skip
    return [("Runs", runs), ("Utility gain", utility), ("Bypass frequency", bypass)]


def _markdown(cmp: dict[str, Any]) -> str:
    parts = [f"# Comparison: {cmp['a']['id']} (A) versus {cmp['b']['id']} (B)"]
    parts += [f"## {title}\n\n{markdown_table(t)}" for title, t in tables(cmp)]
    parts.append(
        "Gains are final − seed improver, paired over each run's test instances; their "
        "difference is bootstrapped over both runs' instances independently. Bypass "
        'differences use Newcombe\'s interval. "–": the run has no such data.'
    )
    return "\n\n".join(parts) + "\n"


def _html_table(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in t.header) if any(t.header) else ""
    right = ' class="r"'
    rows = "".join(
        "<tr>" + "".join(
            f"<td{right if t.align[i : i + 1] == 'r' else ''}>{e(c)}</td>"
            for i, c in enumerate(row)
        ) + "</tr>\n"
        for row in t.rows
    )  # fmt: skip
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>\n{rows}</tbody></table>"


def _html(cmp: dict[str, Any]) -> str:
    e = html.escape
    title = f"Comparison: {cmp['a']['id']} (A) versus {cmp['b']['id']} (B)"
    body = "\n".join(
        f'<h2 id="{e(name.lower().replace(" ", "-"))}">{e(name)}</h2>\n{_html_table(t)}'
        for name, t in tables(cmp)
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>body{{font-family:system-ui,sans-serif;margin:2rem}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem}"
        "th{background:#f3f3f3}td.r{text-align:right;font-variant-numeric:tabular-nums}"
        f"</style></head><body>\n<h1>{e(title)}</h1>\n{body}\n</body></html>\n"
    )


def render_comparison(cmp: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(cmp, indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return _markdown(cmp)
    if fmt == "html":
        return _html(cmp)
    raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
