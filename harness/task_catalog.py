"""Where the tasks live and what they are called (a leaf: the engine, the probe and the
synthetic proposer all find a task by its name here).

A task is the directory ``seeds/tasks/<name>/`` holding ``task.toml``, its public ``utility.py``,
its secret ``evaluator.py`` and its ``seed_algorithm.py`` (loaded by
:func:`stopbox.harness.tasks.load_task`).  Trusted code that belongs to a task but is not
shown to a model — the synthetic proposer's solution variants — is registered under the same name
(``harness/lm/synthetic/solutions/<name>.py``) and looked up with it.
"""

from __future__ import annotations

from pathlib import Path

from stopbox.harness._resources import data_dir

__all__ = ["TASKS_DIR", "task_names"]

TASKS_DIR = data_dir("seeds") / "tasks"


def task_names(tasks_dir: Path | None = None) -> list[str]:
    """Every task directory under seeds/tasks (or ``tasks_dir``) with a task.toml, sorted."""
    root = TASKS_DIR if tasks_dir is None else tasks_dir
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/task.toml"))
