"""The tables of a run report as data, so that Markdown and HTML show the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stopbox.harness.reporting._text import (
    CATEGORIES,
    fmt_count,
    fmt_gain,
    fmt_interval,
    fmt_num,
    fmt_rate,
    fmt_signed,
    fmt_spread,
    fmt_usd,
)

__all__ = [
    "Table",
    "Section",
    "run_info",
    "sections",
    "every_improver_failed",
    "fmt_cost",
    "ALL_FAILED_NOTE",
]

ALL_FAILED_NOTE = (
    "Every improver failed: no improved improver returned a program on any meta-utility test, "
    "so its û is the failure score 0 and no utility gain is reported."
)


def every_improver_failed(report: dict[str, Any]) -> bool:
    return bool((report.get("utility_gain") or {}).get("every_improver_failed"))


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str = ""
    """One letter per column: ``l`` or ``r``."""


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    tables: tuple[Table, ...]


def _t(header: tuple[str, ...], rows: list[tuple[Any, ...]], align: str = "") -> Table | None:
    if not rows:
        return None
    return Table(header, tuple(tuple(str(c) for c in row) for row in rows), align)


def run_info(report: dict[str, Any]) -> Table:
    run = report["run"]
    lm = run.get("lm", {})
    tasks = run.get("tasks") or ([run["task"]] if run.get("task") else [])
    rows = [
        ("run", run.get("id", "–")),
        ("status", run.get("status", "complete")),
        ("created", run.get("created", "–")),
        ("task", run.get("task", "–")),
        ("tasks (meta-utility)", ", ".join(str(t) for t in tasks) or "–"),
        ("iterations", run.get("iterations", "–")),
        ("seed", run.get("seed", "–")),
        ("policy", run.get("policy", "–")),
        ("backend", run.get("backend", "–")),
        ("proposer", f"{lm.get('label') or lm.get('spec', '–')} ({lm.get('spec', '–')})"),
    ]
    return Table(("setting", "value"), tuple((str(k), str(v)) for k, v in rows), "ll")


def sections(report: dict[str, Any]) -> list[Section]:
    """Every section of a run report, in reading order (empty sections have no tables)."""
    specs: list[tuple[str, str, list[Table | None]]] = [
        ("summary", "Utility gain beside bypass frequency", [_headline(report)]),
        ("utility-gain", "Utility gain", [_utility_gain(report)]),
        ("iterations", "Meta-utility per iteration", [_iterations(report)]),
        ("failed-tests", "Failed meta-utility tests by reason", [_failed_tests(report)]),
        ("bypass", "Bypass frequency per iteration (Wilson 95%)", [_bypass_per_iteration(report)]),
        ("bypass-kind", "Bypass frequency by program kind", [_bypass_by_kind(report)]),
        ("categories", "Findings by category", [_by_category(report)]),
        ("static-runtime", "Static versus runtime", list(_static_runtime(report))),
    ]
    if report.get("calibration"):
        specs.append(
            ("calibration", "Calibration against injected attacks", [_calibration(report)])
        )
    specs += [
        ("rules", "Findings by rule", [_findings_by_rule(report)]),
        ("lm-usage", "LM usage and cost", [_lm_usage(report)]),
        ("transfer", "Transfer", [_transfer(report)]),
    ]
    if report.get("transfer_improver"):
        specs.append(
            ("transfer-improver", "Findings of the transferred improver",
             [_transfer_improver(report)])
        )  # fmt: skip
    return [Section(i, title, tuple(t for t in ts if t is not None)) for i, title, ts in specs]


def _headline(report: dict[str, Any]) -> Table | None:
    gain = report.get("utility_gain") or {}
    bypass = report.get("bypass") or {}
    rows: list[tuple[Any, ...]] = []
    if every_improver_failed(report):
        rows.append(("utility gain", "every improver failed", "no gain reported"))
    else:
        rows += [
            (f"utility gain ({split}), bootstrap 95%", fmt_gain(g),
             f"û {fmt_num(g.get('seed'))} → {fmt_num(g.get('final'))}")
            for split in ("val", "test")
            if (g := gain.get(split))
        ]  # fmt: skip
    rows += [
        (label, fmt_rate(bypass[key]), f"{fmt_count(bypass[key])} programs")
        for key, label in (("any", "bypass frequency (Wilson 95%)"),
                           ("static", "flagged statically"), ("runtime", "attempted at runtime"))
        if bypass.get(key)
    ]  # fmt: skip
    return _t(("measure", "value", "detail"), rows, "lrr")


def _utility_gain(report: dict[str, Any]) -> Table | None:
    gain = report.get("utility_gain") or {}
    spreads = gain.get("spread") or gain.get("repeats") or {}
    rows = [
        (split, fmt_num(g.get("seed")), fmt_num(g.get("final")), fmt_signed(g.get("gain")),
         fmt_interval(g), fmt_spread(spreads.get(split)))
        for split in ("val", "test")
        if (g := gain.get(split))
    ]  # fmt: skip
    header = ("split", "û seed improver", "û final improver", "gain",
              "95% CI (paired bootstrap over test instances)",
              "spread of paired differences (mean ± sd, range)")  # fmt: skip
    return _t(header, rows, "lrrrrr")


def _failed_tests(report: dict[str, Any]) -> Table | None:
    rows = []
    for it in report["iterations"]:
        ft = it.get("failed_tests") or {}
        if not ft.get("tests"):
            continue
        reasons = ", ".join(f"{r} {n}" for r, n in sorted((ft.get("by_reason") or {}).items()))
        rows.append((it.get("iteration"), ft["tests"], ft.get("failed", 0), reasons or "–"))
    if not any(int(r[2]) for r in rows):
        return None
    return _t(("iteration", "tests", "failed (score 0)", "by reason"), rows, "rrrl")


def _iterations(report: dict[str, Any]) -> Table | None:
    rows = []
    for it in report["iterations"]:
        p = it.get("programs") or {}
        rows.append(
            (it.get("iteration"), fmt_num(it.get("meta_utility_val")),
             fmt_num(it.get("meta_utility_test")), p.get("total", "–"), p.get("improvers", "–"),
             p.get("solutions", "–"), p.get("blocked", "–"),
             str(it.get("improver_sha256") or "–")[:12])
        )  # fmt: skip
    header = ("iteration", "û val", "û test", "programs", "improvers", "solutions", "blocked",
              "improver sha256")  # fmt: skip
    return _t(header, rows, "rrrrrrrl")


def _bypass_row(label: Any, b: dict[str, Any]) -> tuple[Any, ...]:
    return (label, fmt_count(b.get("any")), fmt_rate(b.get("any")), fmt_rate(b.get("static")),
            fmt_rate(b.get("runtime")))  # fmt: skip


def _bypass_per_iteration(report: dict[str, Any]) -> Table | None:
    rows = [_bypass_row(it.get("iteration"), it.get("bypass") or {}) for it in report["iterations"]]
    total = report.get("bypass") or {}
    if total.get("any"):
        rows.append(_bypass_row("all", total))
    return _t(("iteration", "bypassing / programs", "any", "static", "runtime"), rows, "rrrrr")


def _bypass_by_kind(report: dict[str, Any]) -> Table | None:
    by_kind = (report.get("bypass") or {}).get("by_kind") or {}
    rows = [(k, fmt_count(r), fmt_rate(r)) for k, r in by_kind.items()]
    return _t(("kind", "bypassing / programs", "rate (95% CI)"), rows, "lrr")


def _by_category(report: dict[str, Any]) -> Table | None:
    by_cat = (report.get("bypass") or {}).get("by_category") or {}
    counts = report.get("findings_by_category") or {}
    present = set(by_cat) | set(counts)
    cats = [c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES))
    rows = [(c, counts.get(c, 0), fmt_count(by_cat.get(c)), fmt_rate(by_cat.get(c))) for c in cats]
    return _t(("category", "findings", "programs with one", "rate (95% CI)"), rows, "lrrr")


def _static_runtime(report: dict[str, Any]) -> tuple[Table | None, Table | None]:
    b = report.get("bypass") or {}
    cc = b.get("cross_check") or {}
    det = None
    if b.get("static") or b.get("runtime"):
        det = _t(
            ("detection", "programs", "rate (95% CI)"),
            [("flagged statically", fmt_count(b.get("static")), fmt_rate(b.get("static"))),
             *[(f"flagged statically, marked [{m}]", fmt_count(r), fmt_rate(r))
               for m, r in (b.get("static_split") or {}).items()],
             ("attempted at runtime", fmt_count(b.get("runtime")), fmt_rate(b.get("runtime")))],
            "lrr",
        )  # fmt: skip
    cross = None
    if cc:
        cross = _t(
            ("cross-check", "programs"),
            [("flagged and attempted", cc.get("both", 0)),
             ("flagged but not attempted", cc.get("flagged_not_attempted", 0)),
             ("attempted but not flagged", cc.get("attempted_not_flagged", 0))],
            "lr",
        )  # fmt: skip
    return det, cross


def _calibration(report: dict[str, Any]) -> Table | None:
    rows = [
        (r.get("category"), r.get("injected", 0), r.get("detected", 0),
         r.get("false_positives", 0), fmt_rate(r.get("recall")) if r.get("injected") else "–")
        for r in report.get("calibration") or []
    ]  # fmt: skip
    header = ("category", "injected", "detected", "false positives", "recall (95% CI)")
    return _t(header, rows, "lrrrr")


def _findings_by_rule(report: dict[str, Any]) -> Table | None:
    names: dict[str, tuple[str, str]] = {}
    for p in report.get("programs") or []:
        for f in list(p.get("findings") or []) + list(p.get("runtime") or []):
            names.setdefault(str(f.get("rule_id")), (f.get("name", ""), f.get("category", "")))
    by_rule = report.get("findings_by_rule") or {}
    rows = [
        (rid, names.get(rid, ("", ""))[0], names.get(rid, ("", ""))[1], n)
        for rid, n in sorted(by_rule.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    ]
    return _t(("rule", "name", "category", "findings"), rows, "lllr")


def fmt_cost(u: dict[str, Any]) -> str:
    """The cost; a lower bound when some calls had no known price, and no dollar figure at all
    when none had one."""
    unpriced = int(u.get("unpriced_calls") or 0)
    if unpriced and unpriced >= int(u.get("calls") or 0):
        return "unpriced model"
    cost = fmt_usd(u.get("cost_usd"))
    return f"≥ {cost} ({unpriced} unpriced calls)" if unpriced else cost


def _usage(label: Any, u: dict[str, Any]) -> tuple[Any, ...]:
    return (label, u.get("calls", "–"), u.get("samples", "–"), u.get("prompt_tokens", "–"),
            u.get("completion_tokens", "–"), fmt_cost(u))  # fmt: skip


def _lm_usage(report: dict[str, Any]) -> Table | None:
    rows = [_usage(it.get("iteration"), it.get("lm") or {}) for it in report["iterations"]]
    if report.get("lm_usage"):
        rows.append(_usage("total", report["lm_usage"]))
    header = ("iteration", "calls", "samples", "prompt tokens", "completion tokens", "cost")
    return _t(header, rows, "rrrrrr")


def _transfer(report: dict[str, Any]) -> Table | None:
    rows = []
    for t in report.get("transfer") or []:
        seed, mine = t.get("seed_improver") or {}, t.get("improver") or {}
        gain = t.get("gain") or (
            {"gain": mine["mean"] - seed["mean"]} if seed.get("n") and mine.get("n") else None
        )
        rows.append(
            (t.get("task"), fmt_spread(t.get("u_seed_solution")),
             fmt_spread(t.get("seed_improver")), fmt_spread(t.get("improver")),
             fmt_signed((gain or {}).get("gain")), fmt_interval(gain),
             len(t["failed"]) if isinstance(t.get("failed"), list) else "–")
        )  # fmt: skip
    header = ("task", "seed solution u (spread)", "seed improver (spread)",
              "improved improver (spread)", "gain over seed improver",
              "95% CI (paired bootstrap over repeats)",
              "failed improver runs (score 0)")  # fmt: skip
    return _t(header, rows, "lrrrrrr")


def _transfer_improver(report: dict[str, Any]) -> Table | None:
    """The transferred improver's findings, identical ones (one per improver run) counted once."""
    counts: dict[tuple[str, ...], int] = {}
    for imp in report.get("transfer_improver") or []:
        sha = str(imp.get("sha256", ""))[:12]
        for source in ("static", "runtime"):
            for f in imp.get(source) or []:
                key = (sha, source, str(f.get("rule_id", "?")), str(f.get("category", "?")),
                       str(f.get("severity", "?")), str(f.get("message", "")))  # fmt: skip
                counts[key] = counts.get(key, 0) + 1
        if not (imp.get("static") or imp.get("runtime")):
            counts[(sha, "–", "no findings", "", "", "")] = 0
    rows = [(*key[:5], n, key[5]) for key, n in counts.items()]
    header = ("improver", "source", "rule", "category", "severity", "times", "message")
    return _t(header, rows, "lllllrl")
