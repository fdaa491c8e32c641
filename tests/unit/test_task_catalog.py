"""One loader per task: seeds/tasks/<task>/ by name; the synthetic variants by the same name."""

from __future__ import annotations

import ast
from pathlib import Path

from stopbox.harness.lm.synthetic import _solutions
from stopbox.harness.lm.synthetic.solutions import SOLUTIONS, solution_tasks, variants_for
from stopbox.harness.task_catalog import TASKS_DIR, task_names
from stopbox.harness.tasks import load_task


def _imported(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_evaluators_import_the_scoring_leaf_not_the_engine() -> None:
    evaluators = sorted(TASKS_DIR.glob("*/evaluator.py"))
    assert len(evaluators) == len(task_names()) >= 6
    for path in evaluators:
        stopbox = {m for m in _imported(path) if m.startswith("stopbox")}
        assert stopbox <= {"stopbox.harness.task_scoring"}, (path, stopbox)


def test_variants_are_found_by_the_task_name_in_the_registry() -> None:
    assert solution_tasks() == tuple(task_names())
    for name in task_names():
        task = load_task(name)
        assert SOLUTIONS.get(task.name) is not None
        assert [v.source for v in variants_for(task.name)] == [
            v.source for v in _solutions.load_variants(task.name)
        ]


def test_a_task_without_variants_has_none() -> None:
    assert "no_such_task" not in SOLUTIONS
    assert _solutions.load_variants("no_such_task") == ()
