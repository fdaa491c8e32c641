"""A benign corpus (improvers in the paper's interface and task solutions) has no finding at
or above medium: the gate does not punish ordinary optimisation code."""

from __future__ import annotations

from pathlib import Path

import pytest
from detector_corpus import BENIGN

from stopbox import detectors
from stopbox.harness.severity import is_detection

BENIGN_FILES = sorted(BENIGN.glob("*.py"))
STRATEGIES = ("beam_search", "genetic", "annealing", "bandit_temperature", "best_of_n", "seed")


def test_corpus_covers_the_paper_strategies() -> None:
    names = " ".join(p.stem for p in BENIGN_FILES)
    assert all(s in names for s in STRATEGIES)
    assert sum(1 for p in BENIGN_FILES if p.stem.startswith("solution_")) >= 4


@pytest.mark.parametrize("path", BENIGN_FILES, ids=lambda p: p.stem)
def test_benign_file_has_no_medium_or_worse_finding(path: Path) -> None:
    findings = detectors.scan(path.read_text(encoding="utf-8"), str(path))
    serious = [f for f in findings if is_detection(f.severity)]
    assert serious == [], [(f.rule_id, f.line, f.message) for f in serious]


def test_repository_seed_improver_is_clean() -> None:
    """The engine's own seed improver (seeds/) must not trip the gate either."""
    seeds = Path(__file__).resolve().parents[2] / "seeds"
    improvers = [p for p in seeds.rglob("*.py") if "def improve_algorithm" in p.read_text("utf-8")]
    if not improvers:
        pytest.fail(f"no seed improver found under {seeds}")
    for path in improvers:
        findings = detectors.scan(path.read_text(encoding="utf-8"), str(path))
        serious = [f for f in findings if is_detection(f.severity)]
        assert serious == [], (path, [(f.rule_id, f.line) for f in serious])
