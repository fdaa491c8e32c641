"""Flat CSV of a run or a study (``stopbox report DIR --format csv``) for notebooks.

One tidy table, one measurement per row, the same columns for runs and studies, so that
``pandas.read_csv("report.csv")`` gives a frame to filter by ``section``::

    df = pd.read_csv("runs/<id>/report.csv")
    bypass = df[(df.section == "bypass") & (df.key == "any")]

Columns (:data:`COLUMNS`): ``kind`` (run|study), ``section``, ``iteration``, ``split``,
``prompt``, ``key``, ``count``, ``total``, ``value``, ``ci_low``, ``ci_high``, ``n``.  A rate row
has count/total/value(=rate)/ci (Wilson 95%); a gain row value/ci (bootstrap 95%)/n; a count row
only count.  Empty cells are missing values (never 0).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stopbox.harness.reporting.intervals import bootstrap_mean

__all__ = ["COLUMNS", "render", "render_study", "run_rows", "study_rows"]

COLUMNS = ("kind", "section", "iteration", "split", "prompt", "key", "count", "total", "value",
           "ci_low", "ci_high", "n")  # fmt: skip
Row = dict[str, Any]


def _rate(r: dict[str, Any] | None) -> Row:
    if not r:
        return {}
    if not r.get("total"):  # a rate over nothing has no value (not 0, not 0–100%)
        return {"count": r.get("count"), "total": r.get("total")}
    return {"count": r.get("count"), "total": r.get("total"), "value": r.get("rate"),
            "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high")}  # fmt: skip


def _gain(g: dict[str, Any] | None) -> Row:
    if not g:
        return {}
    return {"value": g.get("gain"), "ci_low": g.get("ci_low"), "ci_high": g.get("ci_high"),
            "n": g.get("n")}  # fmt: skip


def _bypass_rows(bypass: dict[str, Any], iteration: Any) -> Iterator[Row]:
    for key in ("any", "static", "runtime"):
        if bypass.get(key):
            yield {"section": "bypass", "iteration": iteration, "key": key, **_rate(bypass[key])}
    for section, field in (("bypass_by_kind", "by_kind"), ("bypass_by_category", "by_category"),
                           ("bypass_static_split", "static_split")):  # fmt: skip
        for key, r in (bypass.get(field) or {}).items():
            yield {"section": section, "iteration": iteration, "key": key, **_rate(r)}


def _iteration_rows(it: dict[str, Any]) -> Iterator[Row]:
    i = it.get("iteration")
    for split in ("val", "test"):
        if it.get(f"meta_utility_{split}") is not None:
            values = it.get(f"{split}_values") or []
            low, high = bootstrap_mean(values)
            yield {"section": "meta_utility", "iteration": i, "split": split, "key": "mean",
                   "value": it[f"meta_utility_{split}"], "ci_low": low, "ci_high": high,
                   "n": len(values) or None}  # fmt: skip
    yield from _bypass_rows(it.get("bypass") or {}, i)
    ft = it.get("failed_tests") or {}
    for reason, count in (ft.get("by_reason") or {}).items():
        yield {"section": "failed_tests", "iteration": i, "key": reason, "count": count,
               "total": ft.get("tests")}  # fmt: skip
    for key, value in (it.get("lm") or {}).items():
        yield {"section": "lm_usage", "iteration": i, "key": key, "value": value}


def run_rows(report: dict[str, Any]) -> Iterator[Row]:
    """Every measurement of a run's report.json, one row each."""
    for it in report.get("iterations") or []:
        yield from _iteration_rows(it)
    gain = report.get("utility_gain") or {}
    for split in ("val", "test"):
        if gain.get(split):
            yield {"section": "utility_gain", "split": split, "key": "gain", **_gain(gain[split])}
    yield from _bypass_rows(report.get("bypass") or {}, None)
    for section in ("findings_by_rule", "findings_by_category"):
        for key, count in (report.get(section) or {}).items():
            yield {"section": section, "key": key, "count": count}
    for r in report.get("calibration") or []:
        yield {"section": "calibration_recall", "key": r.get("category"), **_rate(r.get("recall"))}
        yield {"section": "calibration_false_positives", "key": r.get("category"),
               "count": r.get("false_positives")}  # fmt: skip
    for key, value in (report.get("lm_usage") or {}).items():
        yield {"section": "lm_usage", "key": key, "value": value}
    for t in report.get("transfer") or []:
        yield {"section": "transfer_gain", "split": "test", "key": t.get("task"),
               **_gain(t.get("gain"))}  # fmt: skip
    for imp in report.get("transfer_improver") or []:
        for f in [*(imp.get("static") or []), *(imp.get("runtime") or [])]:
            yield {"section": "transfer_improver_findings", "key": f.get("rule_id"), "count": 1}


def study_rows(study: dict[str, Any]) -> Iterator[Row]:
    """Every measurement of a study.json, one row each."""
    for name, p in (study.get("prompts") or {}).items():
        for key in ("bypass", "paper_method", "flagged_any"):
            if p.get(key):
                yield {"section": "rate", "prompt": name, "key": key, **_rate(p[key])}
        for section, field in (("attempts", "attempts"), ("by_category", "by_category")):
            for key, r in (p.get(field) or {}).items():
                yield {"section": section, "prompt": name, "key": key, **_rate(r)}
        for key, value in (p.get("lm") or {}).items():
            yield {"section": "lm_usage", "prompt": name, "key": key, "value": value}
    for key, d in (study.get("difference") or {}).items():
        yield {"section": "difference_warning_minus_plain", "key": key,
               "value": d.get("difference"), "ci_low": d.get("ci_low"),
               "ci_high": d.get("ci_high")}  # fmt: skip
    for r in study.get("calibration") or []:
        yield {"section": "calibration_recall", "key": r.get("category"), **_rate(r.get("recall"))}
    for model, v in ((study.get("paper") or {}).get("models") or {}).items():
        for prompt, r in v.items():
            yield {"section": "paper", "prompt": prompt, "key": model, **_rate(r)}


def _write(kind: str, rows: Iterator[Row]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in COLUMNS} | {
            "kind": kind})  # fmt: skip
    return buf.getvalue()


def render(report: dict[str, Any], run_dir: Path | None = None) -> str:
    """The CSV of a run's report.json."""
    return _write("run", run_rows(report))


def render_study(study: dict[str, Any]) -> str:
    """The CSV of a study.json."""
    return _write("study", study_rows(study))
