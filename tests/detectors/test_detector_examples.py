"""The VALID/INVALID corpus: every rule has files that must raise it and files that must not,
and the counts per rule, category and severity are exactly what the file headers say."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from detector_corpus import example_files, expectations

from stopbox import detectors

STATIC_RULES = {r.id: r for r in detectors.all_rules() if r.source == "static"}


def _ids(path: Path) -> list[str]:
    return [f.rule_id for f in detectors.scan(path.read_text(encoding="utf-8"), str(path))]


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_example_raises_exactly_what_its_header_says(path: Path) -> None:
    found = Counter(_ids(path))
    wanted: Counter[str] = Counter()
    for exp in expectations(path):
        wanted[exp.rule_id] += exp.count
    for rule_id, count in wanted.items():
        assert found[rule_id] == count, (path.name, rule_id, dict(found))


def test_every_static_rule_has_invalid_and_valid_files() -> None:
    names = [p.stem for p in example_files()]
    for rule_id in STATIC_RULES:
        assert any(n.startswith(f"{rule_id}_invalid_") for n in names), rule_id
        assert any(n.startswith(f"{rule_id}_valid_") for n in names), rule_id


def test_file_names_match_their_headers() -> None:
    for path in example_files():
        rule_id, kind = path.stem.split("_")[:2]
        assert rule_id in STATIC_RULES, path.name
        own = sum(e.count for e in expectations(path) if e.rule_id == rule_id)
        assert (own > 0) == (kind == "invalid"), path.name


def test_counts_per_rule_category_and_severity() -> None:
    """Functional count over the whole corpus, compared with the hand-written headers."""
    expected_rule: Counter[str] = Counter()
    expected_category: Counter[str] = Counter()
    expected_severity: Counter[str] = Counter()
    actual_rule: Counter[str] = Counter()
    actual_category: Counter[str] = Counter()
    actual_severity: Counter[str] = Counter()
    for path in example_files():
        exps = expectations(path)
        constrained = {e.rule_id for e in exps}
        for e in exps:
            info = STATIC_RULES[e.rule_id]
            expected_rule[e.rule_id] += e.count
            expected_category[info.category.value] += e.count
            expected_severity[e.severity or info.severity.value] += e.count
        for f in detectors.scan(path.read_text(encoding="utf-8"), str(path)):
            if f.rule_id in constrained:
                actual_rule[f.rule_id] += 1
                actual_category[f.category.value] += 1
                actual_severity[f.severity.value] += 1
    assert actual_rule == expected_rule
    assert actual_category == expected_category
    assert actual_severity == expected_severity
    # every category of DESIGN.md §4 is exercised by the corpus
    assert set(expected_category) == {c.value for c in detectors.Category}
