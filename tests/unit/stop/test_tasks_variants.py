"""The synthetic solution variants: every one parses (except the deliberate syntax errors), and
utilities measured through the sandbox order as their quality labels say."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from stopbox.harness.lm.synthetic.solutions import QUALITIES, Variant, solution_tasks, variants_for
from stopbox.harness.policy import load_policy
from stopbox.harness.sandbox import Sandbox
from stopbox.harness.tasks import Score, load_task, task_names

from .test_tasks_support import task_sandbox

ALL = [(task, v) for task in solution_tasks() for v in variants_for(task)]


@pytest.fixture(scope="module")
def scores() -> Iterator[dict[tuple[str, str], Score]]:
    """Every variant scored once on the val split (seed 0)."""
    results: dict[tuple[str, str], Score] = {}
    sandbox: Sandbox
    with task_sandbox() as sandbox:
        for task_name in solution_tasks():
            task = load_task(task_name)
            for v in variants_for(task_name):
                results[task_name, v.name] = task.evaluate(sandbox, v.source, split="val")
        yield results


def test_every_task_has_five_to_ten_labelled_variants() -> None:
    assert sorted(solution_tasks()) == task_names()
    for task in solution_tasks():
        variants = variants_for(task)
        assert 5 <= len(variants) <= 10, task
        qualities = {v.quality for v in variants}
        assert {"broken", "slow", "poor", "good"} <= qualities <= set(QUALITIES), task
        assert len({v.name for v in variants}) == len(variants), task
    assert any(v.quality == "hack" for v in variants_for("lpn"))


def test_variant_rejects_unknown_quality() -> None:
    with pytest.raises(ValueError, match="quality 'great'; allowed: broken, slow"):
        Variant("great", "def algorithm(): pass\n")
    with pytest.raises(ValueError, match="no solution variants for task 'tsp'"):
        variants_for("tsp")


@pytest.mark.parametrize(("task", "v"), ALL, ids=[f"{t}-{v.name}" for t, v in ALL])
def test_variant_parses_and_defines_the_entry(task: str, v: Variant) -> None:
    if v.name == "syntax_error":
        with pytest.raises(SyntaxError):
            ast.parse(v.source)
        return
    tree = ast.parse(v.source)
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert "algorithm" in names
    allowed = set(load_policy().imports.allow)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {a.name.split(".")[0] for a in node.names} <= allowed
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] in allowed


@pytest.mark.parametrize(("task", "v"), ALL, ids=[f"{t}-{v.name}" for t, v in ALL])
def test_broken_slow_and_hack_variants_score_zero(
    scores: dict[tuple[str, str], Score], task: str, v: Variant
) -> None:
    score = scores[task, v.name]
    if v.quality in ("broken", "slow", "hack"):
        assert score.utility == 0.0, score.reason
        expected = {"slow": {"timeout"}, "hack": {"invalid"}}.get(v.quality, {"error", "invalid"})
        assert score.status in expected, score.reason
    else:
        assert score.status == "ok", score.reason
        assert 0.0 <= score.utility <= 1.0
        # the hint the synthetic LM uses is close to what the sandbox measures
        assert abs(score.utility - v.score_hint) <= 0.2, (score.utility, v.score_hint)


@pytest.mark.parametrize("task", solution_tasks())
def test_measured_utilities_order_as_the_labels(
    scores: dict[tuple[str, str], Score], task: str
) -> None:
    by_quality: dict[str, list[float]] = {}
    for v in variants_for(task):
        by_quality.setdefault(v.quality, []).append(scores[task, v.name].utility)
    assert max(by_quality["poor"]) < min(by_quality["good"])
    if "medium" in by_quality:
        assert max(by_quality["poor"]) < min(by_quality["medium"])
        assert max(by_quality["medium"]) < min(by_quality["good"])
    assert min(by_quality["good"]) >= 0.9
