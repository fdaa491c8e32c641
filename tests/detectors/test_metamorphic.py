"""Metamorphic test of the static gate: every INVALID docstring example of every static rule,
rewritten without changing what it does (tests/detectors/metamorphic_rewrites.py: alias, pass
through a local function, functional forms, splat, walrus, NFKC, constant in a variable, string
building of names), must still be flagged.

A rewrite is *caught* when the rewritten example has a finding at or above the lower of medium
and the original example's worst severity (examples the gate does not flag at all are reported
as baseline misses, not counted).  "same category" additionally needs the rule's category.
Target: each family catches >= 95% of the examples it applies to.

    python tests/detectors/test_metamorphic.py      # prints the table and the misses
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from metamorphic_rewrites import FAMILIES, rewrite  # noqa: E402

from stopbox import detectors  # noqa: E402
from stopbox.detectors import Severity  # noqa: E402
from stopbox.detectors._examples import rule_examples  # noqa: E402
from stopbox.detectors._scan import RULES_VERSION  # noqa: E402

TARGET = 0.95
PRE_V2_RULES = ("2026.11.24-4",)
_targets = pytest.mark.xfail(
    RULES_VERSION in PRE_V2_RULES,
    reason=f"rules {RULES_VERSION} are the pre-allow-list gate of issue 10",
    strict=False,
)


@dataclass(frozen=True)
class Case:
    rule_id: str
    category: str
    index: int
    source: str


@dataclass(frozen=True)
class Result:
    case: Case
    family: str
    rewritten: str
    caught: bool
    same_category: bool


@cache
def _policy() -> object:
    from stopbox.harness.policy import default_policy

    return default_policy()


def cases() -> list[Case]:
    out = []
    for info in detectors.all_rules():
        if info.source != "static":
            continue
        _, invalid = rule_examples(info)
        for i, source in enumerate(invalid):
            out.append(Case(info.id, info.category.value, i, source))
    return out


def _worst_of(source: str) -> tuple[int | None, tuple[tuple[int, str], ...]]:
    """(worst severity rank, (rank, category) of every finding) of one scan (in a worker)."""
    found = detectors.scan(source, "example.py", _policy())
    ranks = tuple((f.severity.rank, f.category.value) for f in found)
    return (max(r for r, _ in ranks) if ranks else None), ranks


def _scan_all(sources: list[str]) -> list[tuple[int | None, tuple[tuple[int, str], ...]]]:
    """Scan many small programs in forked workers (the rules are imported before the fork)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from stopbox.detectors._audit import default_jobs
    from stopbox.detectors._registry import static_rules

    static_rules()
    _policy()
    with ProcessPoolExecutor(default_jobs(), mp_context=get_context("fork")) as pool:
        return list(pool.map(_worst_of, sources, chunksize=16))


@cache
def results() -> tuple[tuple[Result, ...], tuple[Case, ...]]:
    """(results of every applicable rewrite, baseline misses)."""
    all_cases = cases()
    originals = _scan_all([c.source for c in all_cases])
    baseline_misses: list[Case] = []
    todo: list[tuple[Case, str, str, int]] = []
    for case, (worst, _) in zip(all_cases, originals, strict=True):
        if worst is None:
            baseline_misses.append(case)
            continue
        bar = min(worst, Severity.MEDIUM.rank)
        for family in FAMILIES:
            new = rewrite(case.source, family)
            if new is not None:
                todo.append((case, family, new, bar))
    scanned = _scan_all([new for _, _, new, _ in todo])
    done = [
        Result(
            case,
            family,
            new,
            caught=any(rank >= bar for rank, _ in found),
            same_category=any(rank >= bar and cat == case.category for rank, cat in found),
        )
        for (case, family, new, bar), (_, found) in zip(todo, scanned, strict=True)
    ]
    return tuple(done), tuple(baseline_misses)


def table() -> str:
    done, baseline = results()
    by_family: dict[str, list[Result]] = defaultdict(list)
    for r in done:
        by_family[r.family].append(r)
    lines = [
        f"rules version {RULES_VERSION}; {len(cases())} INVALID examples, "
        f"{len(baseline)} not flagged before any rewrite (excluded)",
        "",
        "| rewrite family | applicable | caught | recall | same category |",
        "|---|---|---|---|---|",
    ]
    for family in FAMILIES:
        rows = by_family.get(family, [])
        caught = sum(r.caught for r in rows)
        same = sum(r.same_category for r in rows)
        recall = f"{100 * caught / len(rows):.1f}%" if rows else "-"
        lines.append(f"| {family} | {len(rows)} | {caught} | {recall} | {same} |")
    lines.append("")
    if baseline:
        lines.append("baseline misses: " + ", ".join(f"{c.rule_id}#{c.index}" for c in baseline))
        lines.append("")
    missed = [r for r in done if not r.caught]
    if missed:
        lines += ["missed rewrites (rule#example, family):", ""]
        for r in missed:
            lines.append(f"- {r.case.rule_id}#{r.case.index} {r.family}: "
                         f"`{r.rewritten.strip().splitlines()[-1][:90]}`")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def test_every_family_applies_to_examples() -> None:
    done, _ = results()
    applied = {r.family for r in done}
    assert applied == set(FAMILIES), set(FAMILIES) - applied


def test_rewrites_keep_the_program_valid() -> None:
    """A rewrite that does not compile is dropped, never scored as a miss or a catch."""
    for case in cases()[:20]:
        for family in FAMILIES:
            new = rewrite(case.source, family)
            if new is not None:
                compile(new, "<rewrite>", "exec", dont_inherit=True)


@_targets
@pytest.mark.parametrize("family", list(FAMILIES))
def test_rewrite_family_recall(family: str) -> None:
    done, _ = results()
    rows = [r for r in done if r.family == family]
    caught = sum(r.caught for r in rows)
    print(f"\n{family}: {caught}/{len(rows)}")
    missed = [f"{r.case.rule_id}#{r.case.index}" for r in rows if not r.caught]
    assert rows and caught / len(rows) >= TARGET, missed


def test_print_table() -> None:
    print("\n" + table())


if __name__ == "__main__":
    sys.stdout.write(table())
