"""Markdown of a bypass study (``study.json`` → ``study.md``): the paper's unsandboxing table
shape, stopbox's detection beside the paper's text search, and calibration for synthetic runs."""

from __future__ import annotations

from typing import Any

from stopbox.harness.reporting._tables import Table
from stopbox.harness.reporting._text import fmt_count, fmt_rate, fmt_usd
from stopbox.harness.reporting.markdown import markdown_table

__all__ = ["render"]


def _pp(x: float) -> str:
    return f"{100 * x:+.2f} pp"


def render(study: dict[str, Any]) -> str:
    """Render a ``study.json`` dict as Markdown."""
    prompts: dict[str, Any] = study.get("prompts") or {}
    lm = study.get("lm") or {}
    parts = [f"# {study.get('title', 'Bypass study')}"]
    if lm.get("synthetic"):
        parts.append(
            "> Attempts came from the **synthetic proposer** (not a language model) with known "
            "bypass attempts injected at the configured red-team rate; the table measures the "
            "detectors against ground truth, not any model's behaviour."
        )
    if not study.get("complete", True):
        parts.append("> **This study is incomplete** (interrupted); resume it with `--resume`.")
    parts.append(str(study.get("method", "")))
    rows = []
    for name, p in prompts.items():
        rows.append(
            (name, str(p["samples"]), fmt_count(p["bypass"]), fmt_rate(p["bypass"]),
             fmt_count(p["paper_method"]), fmt_rate(p["paper_method"]),
             fmt_rate(p.get("flagged_any")))
        )  # fmt: skip
    header = ("prompt", "attempts", "stopbox bypass", "rate (95% CI)", "paper method",
              "rate (95% CI)", "any finding (95% CI)")  # fmt: skip
    parts.append("## Unsandboxing rate\n\n" + markdown_table(Table(header, tuple(rows), "lrrrrrr")))
    diff = study.get("difference")
    if diff:
        drows = tuple(
            (key, _pp(d["difference"]), f"{_pp(d['ci_low'])} to {_pp(d['ci_high'])}")
            for key, d in diff.items()
        )
        parts.append(
            "## Warning minus plain prompt\n\n"
            + markdown_table(Table(("detection", "difference", "95% CI (Newcombe)"), drows, "lrr"))
        )
    paper = (study.get("paper") or {}).get("models") or {}
    if paper:
        prow = tuple(
            (model, fmt_count(v.get("plain")), fmt_rate(v.get("plain")),
             fmt_count(v.get("warning")), fmt_rate(v.get("warning")))
            for model, v in paper.items()
        )  # fmt: skip
        parts.append(
            "## The paper's figures (text search, 10,000 attempts per prompt)\n\n"
            + markdown_table(
                Table(
                    ("model", "plain", "rate (95% CI)", "warning", "rate (95% CI)"), prow, "lrrrr"
                )  # fmt: skip
            )
        )
    agree = tuple(
        (name, str(p["agreement"]["both"]), str(p["agreement"]["stopbox_only"]),
         str(p["agreement"]["paper_only"]))
        for name, p in prompts.items() if p.get("agreement")
    )  # fmt: skip
    if agree:
        parts.append(
            "## stopbox versus the paper's text search\n\n"
            + markdown_table(
                Table(("prompt", "both", "stopbox only", "paper method only"), agree, "lrrr")
            )
        )
    cat_rows = []
    for name, p in prompts.items():
        for cat, r in (p.get("by_category") or {}).items():
            if r["count"]:
                cat_rows.append((name, cat, fmt_count(r), fmt_rate(r)))
    if cat_rows:
        parts.append(
            "## Findings by category\n\n"
            + markdown_table(
                Table(("prompt", "category", "attempts", "rate (95% CI)"), tuple(cat_rows), "llrr")
            )
        )
    if study.get("calibration"):
        crow = tuple(
            (r["category"], str(r["injected"]), str(r["detected"]), str(r["false_positives"]),
             fmt_rate(r.get("recall")) if r["injected"] else "–")
            for r in study["calibration"]
        )  # fmt: skip
        cal = "## Calibration (all prompts)\n\n" + markdown_table(
            Table(
                ("category", "injected", "detected", "false positives", "recall (95% CI)"),
                crow,
                "lrrrr",
            )  # fmt: skip
        )
        benign = [(n, p["benign"]) for n, p in prompts.items() if p.get("benign")]
        if benign:
            cal += (
                "\n\n"
                + "; ".join(
                    f"{n}: {b['flagged']} of {b['samples']} benign attempts flagged"
                    for n, b in benign
                )
                + "."
            )
        dis = [d for p in prompts.values() for d in p.get("disagreements") or []]
        if dis:
            cal += "\n\n" + markdown_table(
                Table(
                    ("attack", "category", "disagreement", "attempts"),
                    tuple((d["attack"], d["category"], d["kind"], str(d["samples"])) for d in dis),
                    "lllr",
                )  # fmt: skip
            )
        parts.append(cal)
    usage = tuple(
        (name, str(p["lm"]["calls"]), str(p["lm"]["samples"]), str(p["lm"]["prompt_tokens"]),
         str(p["lm"]["completion_tokens"]), fmt_usd(p["lm"]["cost_usd"]))
        for name, p in prompts.items()
    )  # fmt: skip
    if usage:
        parts.append(
            "## LM usage and cost\n\n"
            + markdown_table(
                Table(
                    ("prompt", "calls", "samples", "prompt tokens", "completion tokens", "cost"),
                    usage,
                    "lrrrrr",
                )  # fmt: skip
            )
        )
    return "\n\n".join(p for p in parts if p) + "\n"
