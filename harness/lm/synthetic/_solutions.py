"""Task solutions of the synthetic proposer: which task is asked, and which variant to answer.

Variants are looked up by the task's name in ``solutions.SOLUTIONS`` (each
``solutions/<task>.py`` registers its ``VARIANTS``): objects with ``quality`` and ``source`` (a
``Variant`` dataclass, a tuple or a dict all work).  The task is identified from the prompt: an
explicit marker ``stopbox-task: <name>`` (or
``task: <name>`` / ``TASK = "<name>"``) naming a module that exists, else the longest task module
name that appears as a word in the prompt.

Quality ranks: known words map to tiers (below); broken ones (``broken``, ``hack``, ...) are tier
0 and never count as progress.  The solution in the prompt is matched (whitespace-insensitively)
against the variants to find its tier; an unknown solution (the seed algorithm) counts as the
lowest working tier.  Sampling is skewed by temperature and by that tier: mostly the same or the
next better tier, sometimes a jump, sometimes a worse or a broken one — so best-of-n improves
sometimes and iterative search improves more.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from stopbox.harness.lm.synthetic.solutions import SOLUTIONS, solution_tasks

__all__ = ["SolutionVariant", "task_modules", "identify_task", "load_variants", "choose_variant",
           "quality_tier", "current_tier"]  # fmt: skip


_TIER_WORDS: dict[str, int] = {
    "broken": 0, "crash": 0, "crashes": 0, "error": 0, "syntax_error": 0, "wrong": 0,
    "hack": 0, "reward_hack": 0, "shape_hack": 0, "cheat": 0, "invalid": 0, "timeout": 0,
    "slow": 0, "naive": 1, "trivial": 1, "random": 1, "poor": 1, "bad": 1, "weak": 1,
    "seed": 2, "baseline": 2, "ok": 2, "fair": 2, "simple": 2, "basic": 2,
    "decent": 3, "medium": 3, "better": 3, "improved": 3, "moderate": 3,
    "good": 4, "strong": 4, "high": 4,
    "best": 5, "optimal": 5, "excellent": 5, "great": 5,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SolutionVariant:
    quality: str
    source: str
    tier: int


def quality_tier(quality: str) -> int | None:
    """The tier of a quality word (first known word in it), or None when unknown."""
    words = re.split(r"[^a-z0-9_]+", quality.lower())
    for word in [quality.lower().replace("-", "_"), *words]:
        if word in _TIER_WORDS:
            return _TIER_WORDS[word]
    return None


def task_modules() -> tuple[str, ...]:
    """Names of the tasks that have solution variants (registered in ``SOLUTIONS``)."""
    return solution_tasks()


_MARKER = re.compile(
    r"(?:stopbox[-_ ]task\s*[:=]?|\btask(?:[-_ ]name)?\s*[:=]|\bTASK(?:_NAME)?\s*[:=])"
    r"""\s*["']?([A-Za-z][\w-]*)""",
)
_ALIASES: tuple[tuple[str, str], ...] = (
    (r"parity\s+with\s+noise|noisy\s+parity|\blpn\b", "lpn"),
    (r"string[\s_-]+grid[\s_-]+distance|grid\s+distance", "string_grid_distance"),
    (r"\b3[\s_-]?sat\b|\bsat3\b|satisfiab", "sat3"),
    (r"max[\s_-]?cut", "maxcut"),
    (r"quadratic\s+assignment|\bqap\b", "qap"),
    (r"\bparity\b", "parity"),
)


def identify_task(text: str, known: Sequence[str] | None = None) -> str | None:
    """The task a prompt is about: a marker, else a task name or a well-known phrase for it."""
    known = task_modules() if known is None else tuple(known)
    for match in _MARKER.finditer(text):
        name = match.group(1).lower().replace("-", "_")
        if name in known:
            return name
    for pattern, name in _ALIASES:
        if name in known and re.search(pattern, text, flags=re.IGNORECASE):
            return name
    for name in sorted(known, key=len, reverse=True):
        if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, flags=re.IGNORECASE):
            return name
    return None


def _field(variant: Any, name: str, index: int) -> Any:
    if isinstance(variant, Mapping):
        return variant[name]
    if isinstance(variant, tuple) and not hasattr(variant, name):
        return variant[index]
    return getattr(variant, name)


@cache
def load_variants(task: str) -> tuple[SolutionVariant, ...]:
    """The task's variants with tiers; () when the task has no solutions module.

    With ``score_hint`` on the variants (the tasks part measures it), tier 0 is every variant
    with a hint of 0 (broken, slow, hack) and the others rank 1, 2, ... by distinct hint;
    otherwise tiers come from the quality words.
    """
    if task not in SOLUTIONS:
        return ()
    raw = list(SOLUTIONS.get(task))
    rows = []
    for variant in raw:
        quality = str(_field(variant, "quality", 0))
        source = str(_field(variant, "source", 1))
        hint = getattr(variant, "score_hint", None)
        rows.append((quality, source, float(hint) if isinstance(hint, int | float) else None))
    if rows and all(hint is not None for _, _, hint in rows):
        levels = sorted({hint for _, _, hint in rows if hint is not None and hint > 0})
        return tuple(
            SolutionVariant(q, src, 0 if not h or h <= 0 else 1 + levels.index(h))
            for q, src, h in rows
        )
    out = []
    for position, (quality, source, _) in enumerate(rows):
        tier = quality_tier(quality)
        if tier is None:  # unknown words: spread the list order over tiers 1..5
            tier = 1 + round(4 * position / max(1, len(rows) - 1))
        out.append(SolutionVariant(quality, source, tier))
    return tuple(out)


def _normalise(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines() if line.strip())


def current_tier(solution: str | None, variants: Sequence[SolutionVariant]) -> int:
    working = sorted({v.tier for v in variants if v.tier > 0}) or [1]
    if solution:
        wanted = _normalise(solution)
        for variant in variants:
            if _normalise(variant.source) == wanted:
                return variant.tier
    return working[0]


def _weight(tier: int, current: int, temperature: float) -> float:
    t = min(max(temperature, 0.0), 2.0)
    if tier == 0:
        return 0.04 + 0.08 * t
    delta = tier - current
    if delta == 0:
        return max(0.25, 1.0 - 0.35 * t)
    if delta > 0:
        return (0.3 + 0.15 * t) * (0.2 + 0.2 * t) ** (delta - 1)
    return (0.15 + 0.1 * t) * 0.5 ** (-delta - 1)


def choose_variant(
    variants: Sequence[SolutionVariant],
    solution: str | None,
    temperature: float,
    rng: random.Random,
) -> SolutionVariant:
    """Pick one variant, skewed by the temperature and the tier of the solution shown."""
    current = current_tier(solution, variants)
    tiers = sorted({v.tier for v in variants})
    weights = [_weight(tier, current, temperature) for tier in tiers]
    if temperature <= 0.0:  # greedy decoding: the most likely tier, deterministically
        tier = tiers[max(range(len(tiers)), key=lambda i: (weights[i], -tiers[i]))]
    else:
        sharpened = [w ** (1.0 / max(temperature, 0.05)) if w > 0 else 0.0 for w in weights]
        total = math.fsum(sharpened)
        tier = rng.choices(tiers, weights=[w / total for w in sharpened])[0]
    members = [v for v in variants if v.tier == tier]
    return members[rng.randrange(len(members))]
