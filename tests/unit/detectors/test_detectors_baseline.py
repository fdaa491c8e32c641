"""Baselines accept findings by AST fingerprint: a moved line stays accepted, a duplicated
one does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stopbox import detectors
from stopbox.detectors import FileReport, filter_baseline, read_baseline, write_baseline
from stopbox.harness.errors import UsageError

ORIGINAL = """\
def improve_algorithm(initial_solution, utility, language_model):
    score = utility(initial_solution, use_sandbox=False)
    return initial_solution
"""
MOVED = """\
import math


def improve_algorithm(initial_solution, utility, language_model):
    # a comment and a blank line push the finding down

    score = utility(initial_solution, use_sandbox=False)
    return initial_solution
"""
DUPLICATED = ORIGINAL.replace(
    "    return", "    again = utility(initial_solution, use_sandbox=False)\n    return"
)


def report(source: str, path: str = "cand.py") -> FileReport:
    return FileReport(path, tuple(detectors.scan(source, path)))


def test_moved_line_stays_accepted_and_duplicate_is_reported(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    assert write_baseline([report(ORIGINAL)], base) == 1
    accepted = read_baseline(base)

    moved = [report(MOVED)]
    assert moved[0].findings[0].line == 7
    assert filter_baseline(moved, accepted) == 1
    assert moved[0].findings == () and moved[0].baselined == 1

    duplicated = [report(DUPLICATED)]
    assert len(duplicated[0].findings) == 2
    assert filter_baseline(duplicated, accepted) == 1
    assert [f.line for f in duplicated[0].findings] == [3]


def test_baseline_is_per_path_unless_wildcard(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    write_baseline([report(ORIGINAL, "a.py")], base)
    other = [report(ORIGINAL, "b.py")]
    assert filter_baseline(other, read_baseline(base)) == 0
    data = json.loads(base.read_text())
    data["findings"][0]["path"] = "*"
    base.write_text(json.dumps(data))
    assert filter_baseline(other, read_baseline(base)) == 1


def test_changed_code_is_not_accepted(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    write_baseline([report(ORIGINAL)], base)
    changed = [report(ORIGINAL.replace("use_sandbox=False", "use_sandbox=0"))]
    assert filter_baseline(changed, read_baseline(base)) == 0


@pytest.mark.parametrize("content", ["", "{}", '{"schema": "other"}', "[1, 2]"])
def test_malformed_baseline_is_a_usage_error(tmp_path: Path, content: str) -> None:
    base = tmp_path / "b.json"
    base.write_text(content)
    with pytest.raises(UsageError):
        read_baseline(base)


def test_missing_baseline_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        read_baseline(tmp_path / "missing.json")
