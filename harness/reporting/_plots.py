"""Plots for the HTML report, drawn with matplotlib's Agg backend and returned as base64 PNG
(data: URIs keep the page self-contained)."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402  (after the backend, like pyplot)

from stopbox.harness.reporting.intervals import bootstrap_mean  # noqa: E402

__all__ = [
    "META_UTILITY_BASELINE_NOTE",
    "meta_utility_plot",
    "meta_utility_figure",
    "bypass_figure",
    "bypass_plot",
    "findings_plot",
    "lm_usage_plot",
]

_SIZE = (6.4, 3.4)

META_UTILITY_BASELINE_NOTE = "0, the score of a failed meta-utility test"
"""The meta-utility plot's y-axis starts here (û is a mean utility; a test whose improver
raised, timed out or was blocked scores 0), so heights compare as ratios."""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=96)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _utility_series(
    pts: list[dict[str, Any]], split: str
) -> tuple[list[int], list[float], list[list[float]]]:
    """x, û and asymmetric error bars (bootstrap 95% over test instances; 0 when n < 3)."""
    rows = [it for it in pts if it.get(f"meta_utility_{split}") is not None]
    xs = [int(it["iteration"]) for it in rows]
    ys = [float(it[f"meta_utility_{split}"]) for it in rows]
    lo: list[float] = []
    hi: list[float] = []
    for it, y in zip(rows, ys, strict=True):
        low, high = bootstrap_mean(it.get(f"{split}_values") or [])
        lo.append(max(0.0, y - low) if low is not None else 0.0)
        hi.append(max(0.0, high - y) if high is not None else 0.0)
    return xs, ys, [lo, hi]


def meta_utility_plot(iterations: list[dict[str, Any]]) -> str | None:
    """û per iteration on val and test with bootstrap 95% error bars, the seed improver's values
    as dashed lines, and a y-axis from 0 (:data:`META_UTILITY_BASELINE_NOTE`)."""
    fig = meta_utility_figure(iterations)
    return None if fig is None else _png(fig)


def meta_utility_figure(iterations: list[dict[str, Any]]) -> Figure | None:
    """The figure of :func:`meta_utility_plot` (the caller closes it)."""
    pts = [it for it in iterations if it.get("meta_utility_val") is not None]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=_SIZE)
    for split, marker, offset, colour in (("val", "o-", -0.05, "C0"), ("test", "s-", 0.05, "C1")):
        xs, ys, err = _utility_series(pts, split)
        if not xs:
            continue
        ax.errorbar([x + offset for x in xs], ys, yerr=err, fmt=marker, capsize=4, c=colour,
                    label=f"û {split}")  # fmt: skip
        seed = next((y for x, y in zip(xs, ys, strict=True) if x == 0), None)
        if seed is not None:
            ax.axhline(seed, ls="--", c=colour, alpha=0.5, label=f"seed ({split})")
    top = max(float(it.get(f"meta_utility_{s}") or 0.0) for it in pts for s in ("val", "test"))
    ax.set_ylim(bottom=0.0, top=max(top * 1.15, 0.05))
    ax.set_xlabel("iteration (0 = seed improver)")
    ax.set_ylabel("meta-utility û (from 0)")
    ax.set_xticks([int(it["iteration"]) for it in pts])
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3)
    return fig


def bypass_plot(iterations: list[dict[str, Any]]) -> str | None:
    """Bypass rate per iteration (%), Wilson 95% intervals as error bars.  The legend sits
    outside the axes (it never covers a point) and the axis starts a little below 0% so that
    points at 0% are drawn whole."""
    fig = bypass_figure(iterations)
    return None if fig is None else _png(fig)


def bypass_figure(iterations: list[dict[str, Any]]) -> Figure | None:
    """The figure of :func:`bypass_plot` (the caller closes it)."""
    pts = [it for it in iterations if (it.get("bypass") or {}).get("any")]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=_SIZE)
    top = 0.0
    for offset, key, marker in ((-0.1, "any", "o"), (0.0, "static", "s"), (0.1, "runtime", "^")):
        rows = [(it["iteration"], it["bypass"][key]) for it in pts if it["bypass"].get(key)]
        if not rows:
            continue
        xs = [int(i) + offset for i, _ in rows]
        ys = [100 * float(r["rate"]) for _, r in rows]
        lo = [100 * (float(r["rate"]) - float(r["ci_low"])) for _, r in rows]
        hi = [100 * (float(r["ci_high"]) - float(r["rate"])) for _, r in rows]
        top = max([top] + [100 * float(r["ci_high"]) for _, r in rows])
        bars = ax.errorbar(xs, ys, yerr=[lo, hi], fmt=marker, capsize=4, label=key)
        for artist in bars.lines[0], *bars.lines[1], *bars.lines[2]:
            artist.set_clip_on(False)
    top = max(top, 1.0)
    ax.set_ylim(bottom=-0.04 * top, top=top * 1.05)
    ax.set_xlabel("iteration")
    ax.set_ylabel("programs with a bypass (%)")
    ax.set_xticks([int(it["iteration"]) for it in pts])
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3)
    return fig


def findings_plot(counts: dict[str, int], xlabel: str) -> str | None:
    """Horizontal bars of finding counts (by category or by rule)."""
    items = sorted(((k, int(v)) for k, v in counts.items() if int(v) > 0), key=lambda kv: kv[1])
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(_SIZE[0], max(1.6, 0.35 * len(items) + 0.9)))
    ax.barh([k for k, _ in items], [v for _, v in items], color="C3")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def lm_usage_plot(iterations: list[dict[str, Any]]) -> str | None:
    """LM calls and samples per iteration (bars) and cost (line, right axis)."""
    pts = [it for it in iterations if it.get("lm")]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=_SIZE)
    xs = [int(it["iteration"]) for it in pts]
    ax.bar([x - 0.2 for x in xs], [int(it["lm"].get("calls", 0)) for it in pts], 0.4, label="calls")
    ax.bar(
        [x + 0.2 for x in xs], [int(it["lm"].get("samples", 0)) for it in pts], 0.4, label="samples"
    )
    ax.set_xlabel("iteration")
    ax.set_ylabel("count")
    ax.set_xticks(xs)
    handles, labels = ax.get_legend_handles_labels()
    if not any(int(it["lm"].get("unpriced_calls") or 0) for it in pts):
        # a dollar line only where every call had a price (an unpriced call is not $0)
        ax2 = ax.twinx()
        ax2.plot(xs, [float(it["lm"].get("cost_usd", 0.0)) for it in pts], "k.-",
                 label="cost (USD)")  # fmt: skip
        ax2.set_ylabel("cost (USD)")
        ax2.set_ylim(bottom=0)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.12, 1.0),
              borderaxespad=0.0)  # fmt: skip
    return _png(fig)
