"""Each rule's docstring is its documentation and its first tests: the VALID examples must not
raise the rule, the INVALID ones must.  docs/rules.md is generated and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stopbox import detectors
from stopbox.detectors._examples import rule_examples

ROOT = Path(__file__).resolve().parents[3]
STATIC = [r for r in detectors.all_rules() if r.source == "static"]


@pytest.mark.parametrize("info", STATIC, ids=lambda r: r.id)
def test_docstring_examples(info: detectors.RuleInfo) -> None:
    valid, invalid = rule_examples(info)
    assert valid and invalid, f"{info.id} needs VALID and INVALID examples in its docstring"
    for source in invalid:
        ids = [f.rule_id for f in detectors.scan(source)]
        assert info.id in ids, (info.id, source, ids)
    for source in valid:
        ids = [f.rule_id for f in detectors.scan(source)]
        assert info.id not in ids, (info.id, source, ids)


def test_rules_have_unique_ids_names_and_known_categories() -> None:
    rules = detectors.all_rules()
    assert len({r.id for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
    design_categories = {
        "sandbox-bypass", "disallowed-import", "dynamic-code", "introspection-escape",
        "tampering", "io", "network", "process", "evasion",
    }  # fmt: skip
    assert {r.category.value for r in rules} == design_categories
    for r in rules:
        assert r.summary and r.summary.endswith("."), r.id


def test_docs_rules_md_is_current() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "stopbox.harness.cli", "rules", "--format", "md"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    generated = proc.stdout
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == generated, (
        "docs/rules.md is stale: run `stopbox rules --format md > docs/rules.md`"
    )
