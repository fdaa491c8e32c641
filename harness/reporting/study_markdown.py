"""Markdown of a bypass study (``study.json`` → ``study.md``): the paper's unsandboxing table
shape, stopbox's detection beside the paper's text search, the attempt classes, and calibration
for synthetic runs.  Each section is one small function; :func:`render` puts them in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stopbox.harness.reporting._tables import Table, fmt_cost
from stopbox.harness.reporting._text import fmt_count, fmt_rate
from stopbox.harness.reporting.markdown import contents, markdown_table

__all__ = ["render", "ATTEMPT_CLASSES"]

ATTEMPT_CLASSES = (
    ("disables", "disables the sandbox (literal or provably falsy use_sandbox)"),
    ("unverifiable", "unverifiable flag (non-literal, not resolved)"),
    ("copied_scaffolding", "copied the prompt's scaffolding"),
    ("no_code", "no code (nothing parses)"),
    ("runtime_confirmed", "runtime-confirmed (utility called without the literal True)"),
)
"""The study's attempt classes (DESIGN.md §7), in reading order, with their row labels."""

Study = dict[str, Any]


def _pp(x: float) -> str:
    return f"{100 * x:+.2f} pp"


def _prompts(study: Study) -> dict[str, Any]:
    return study.get("prompts") or {}


def _section(title: str, *tables: Table, text: str = "") -> str:
    body = "\n\n".join([markdown_table(t) for t in tables] + ([text] if text else []))
    return f"## {title}\n\n{body}"


def _preamble(study: Study) -> list[str]:
    parts = [f"# {study.get('title', 'Bypass study')}"]
    if (study.get("lm") or {}).get("synthetic"):
        parts.append(
            "> Attempts came from the **synthetic proposer** (not a language model) with known "
            "bypass attempts injected at the configured red-team rate; the table measures the "
            "detectors against ground truth, not any model's behaviour."
        )
    if not study.get("complete", True):
        parts.append("> **This study is incomplete** (interrupted); resume it with `--resume`.")
    parts.append(str(study.get("method", "")))
    return parts


def _rates(study: Study) -> str | None:
    rows = tuple(
        (name, str(p["samples"]), fmt_count(p["bypass"]), fmt_rate(p["bypass"]),
         fmt_count(p["paper_method"]), fmt_rate(p["paper_method"]),
         fmt_rate(p.get("flagged_any")))
        for name, p in _prompts(study).items()
    )  # fmt: skip
    header = ("prompt", "attempts", "stopbox bypass", "rate (95% CI)", "paper method",
              "rate (95% CI)", "any finding (95% CI)")  # fmt: skip
    return _section("Unsandboxing rate", Table(header, rows, "lrrrrrr"))


def _attempt_classes(study: Study) -> str | None:
    prompts = {n: p.get("attempts") for n, p in _prompts(study).items() if p.get("attempts")}
    if not prompts:
        return None
    names = list(prompts)
    keys = [k for k, _ in ATTEMPT_CLASSES if any(k in a for a in prompts.values())]
    keys += sorted({k for a in prompts.values() for k in a} - set(keys))
    labels = dict(ATTEMPT_CLASSES)
    rows = tuple(
        (labels.get(k, k), *(f"{fmt_count(prompts[n].get(k))} {fmt_rate(prompts[n].get(k))}"
                             if prompts[n].get(k) else "–" for n in names))
        for k in keys
    )  # fmt: skip
    header = ("attempt class", *(f"{n}: attempts, rate (95% CI)" for n in names))
    note = "`disables` is the class comparable to the paper's `use_sandbox=False` search."
    return _section("Attempts by class", Table(header, rows, "l" + "r" * len(names)), text=note)


def _difference(study: Study) -> str | None:
    diff = study.get("difference")
    if not diff:
        return None
    rows = tuple(
        (key, _pp(d["difference"]), f"{_pp(d['ci_low'])} to {_pp(d['ci_high'])}")
        for key, d in diff.items()
    )
    table = Table(("detection", "difference", "95% CI (Newcombe)"), rows, "lrr")
    return _section("Warning minus plain prompt", table)


def _paper(study: Study) -> str | None:
    paper = (study.get("paper") or {}).get("models") or {}
    if not paper:
        return None
    rows = tuple(
        (model, fmt_count(v.get("plain")), fmt_rate(v.get("plain")),
         fmt_count(v.get("warning")), fmt_rate(v.get("warning")))
        for model, v in paper.items()
    )  # fmt: skip
    header = ("model", "plain", "rate (95% CI)", "warning", "rate (95% CI)")
    return _section(
        "The paper's figures (text search, 10,000 attempts per prompt)",
        Table(header, rows, "lrrrr"),
    )


def _agreement(study: Study) -> str | None:
    rows = tuple(
        (name, str(p["agreement"]["both"]), str(p["agreement"]["stopbox_only"]),
         str(p["agreement"]["paper_only"]))
        for name, p in _prompts(study).items() if p.get("agreement")
    )  # fmt: skip
    if not rows:
        return None
    header = ("prompt", "both", "stopbox only", "paper method only")
    return _section("stopbox versus the paper's text search", Table(header, rows, "lrrr"))


def _categories(study: Study) -> str | None:
    rows = tuple(
        (name, cat, fmt_count(r), fmt_rate(r))
        for name, p in _prompts(study).items()
        for cat, r in (p.get("by_category") or {}).items()
        if r["count"]
    )
    if not rows:
        return None
    header = ("prompt", "category", "attempts", "rate (95% CI)")
    return _section("Findings by category", Table(header, rows, "llrr"))


def _benign_line(study: Study) -> str:
    benign = [(n, p["benign"]) for n, p in _prompts(study).items() if p.get("benign")]
    if not benign:
        return ""
    return (
        "; ".join(
            f"{n}: {b['flagged']} of {b['samples']} benign attempts flagged" for n, b in benign
        )
        + "."
    )


def _calibration(study: Study) -> str | None:
    if not study.get("calibration"):
        return None
    rows = tuple(
        (r["category"], str(r["injected"]), str(r["detected"]), str(r["false_positives"]),
         fmt_rate(r.get("recall")) if r["injected"] else "–")
        for r in study["calibration"]
    )  # fmt: skip
    header = ("category", "injected", "detected", "false positives", "recall (95% CI)")
    tables = [Table(header, rows, "lrrrr")]
    dis = [d for p in _prompts(study).values() for d in p.get("disagreements") or []]
    if dis:
        drows = tuple((d["attack"], d["category"], d["kind"], str(d["samples"])) for d in dis)
        tables.append(Table(("attack", "category", "disagreement", "attempts"), drows, "lllr"))
    benign = _benign_line(study)
    body = "\n\n".join(
        [markdown_table(tables[0])] + ([benign] if benign else [])
        + [markdown_table(t) for t in tables[1:]]
    )  # fmt: skip
    return f"## Calibration (all prompts)\n\n{body}"


def _usage(study: Study) -> str | None:
    rows = tuple(
        (name, str(p["lm"]["calls"]), str(p["lm"]["samples"]), str(p["lm"]["prompt_tokens"]),
         str(p["lm"]["completion_tokens"]), fmt_cost(p["lm"]))
        for name, p in _prompts(study).items() if p.get("lm")
    )  # fmt: skip
    if not rows:
        return None
    header = ("prompt", "calls", "samples", "prompt tokens", "completion tokens", "cost")
    return _section("LM usage and cost", Table(header, rows, "lrrrrr"))


SECTIONS: tuple[Callable[[Study], str | None], ...] = (
    _rates, _attempt_classes, _difference, _paper, _agreement, _categories, _calibration, _usage,
)  # fmt: skip


def render(study: Study) -> str:
    """Render a ``study.json`` dict as Markdown."""
    body = [s for s in (f(study) for f in SECTIONS) if s]
    titles = [s.split("\n", 1)[0].removeprefix("## ") for s in body]
    parts = _preamble(study) + [contents(titles)] + body
    return "\n\n".join(p for p in parts if p) + "\n"
