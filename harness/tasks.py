"""The paper's tasks: loader, task.toml validation, and the trusted scoring driver.

A task lives in ``seeds/tasks/<name>/``:

* ``task.toml`` -- name, description, entry, per-call timeout, instances per evaluation and the
  ``[splits]``: a public ``train`` seed list (the improver's ``utility(...)`` during improvement)
  and secret ``val`` and ``test`` lists.  Validated on load.
* ``utility.py`` -- the PUBLIC text the LM sees as ``utility.str``; never executed.
* ``evaluator.py`` -- SECRET and TRUSTED, imported here: ``generate(rng) -> (args, hidden)`` draws
  one instance, ``score(hidden, output) -> (utility in [0, 1], problem)`` checks and scores the
  sandboxed solution's output ("" when the output was acceptable).  Evaluators share the checks
  of :mod:`stopbox.harness.task_scoring` (a leaf; they never import the engine).
* ``seed_algorithm.py`` -- the paper's seed solution.

:meth:`Task.evaluate` loads the untrusted solution once into ONE sandbox job, calls its
``algorithm(...)`` per instance with the task's timeout, and scores in the harness.  Instance
seeds never enter the sandbox; only the generated inputs do.  Per-call wall time is the trusted
``ExecResult.wall_s``.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import structlog

from stopbox.harness.errors import TaskError
from stopbox.harness.sandbox._base import ExecResult, Job, Sandbox, Status
from stopbox.harness.task_catalog import TASKS_DIR, task_names

__all__ = [
    "TASKS_DIR",
    "SPLITS",
    "Score",
    "Task",
    "TaskSpec",
    "load_task",
    "task_names",
]

log = structlog.get_logger("stopbox.tasks")

SPLITS = ("train", "val", "test")
_TOP_KEYS = ("name", "description", "entry", "call_timeout_s", "instances", "splits")
_FILES = ("task.toml", "utility.py", "evaluator.py", "seed_algorithm.py")
_FATAL = (Status.TIMEOUT, Status.MEMORY, Status.VIOLATION, Status.KILLED)
_STATUS_RANK = ("ok", "invalid", "error", "killed", "memory", "violation", "timeout")


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """The validated contents of one task.toml."""

    name: str
    description: str
    entry: str
    call_timeout_s: float
    instances: int
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    source: str

    def split_seeds(self, split: str) -> tuple[int, ...]:
        if split not in SPLITS:
            raise TaskError(f"task {self.name}: unknown split {split!r}; allowed: train, val, test")
        seeds: tuple[int, ...] = getattr(self, split)
        return seeds


@dataclass(frozen=True, slots=True)
class Score:
    """One evaluation of one solution.

    ``status``: ``ok`` (every output acceptable), ``invalid`` (some output rejected by the
    checks), ``error`` (the module did not load, or a call raised), or the sandbox status that
    ended the evaluation (``timeout``, ``memory``, ``violation``, ``killed``; utility 0).
    ``results``: the load result, then one per call.  ``final``: ``Job.close()`` (cumulative
    events and violations), None when no job was started.
    """

    utility: float
    reason: str
    calls: int
    wall_s: float
    status: str
    results: tuple[ExecResult, ...] = ()
    final: ExecResult | None = None
    instance_utilities: tuple[float, ...] = ()


def _fail(file: Path, key: str, problem: str) -> TaskError:
    return TaskError(f"{file}: {key}: {problem}")


def _check_seed_list(file: Path, key: str, value: Any) -> tuple[int, ...]:
    ok = isinstance(value, list) and value and all(type(v) is int and v >= 0 for v in value)
    if not ok:
        raise _fail(file, key, f"got {value!r}; allowed: a non-empty list of integers >= 0")
    if len(set(value)) != len(value):
        raise _fail(file, key, "seeds must be distinct")
    return tuple(value)


def _parse_spec(file: Path, data: dict[str, Any]) -> TaskSpec:
    for key in data:
        if key not in _TOP_KEYS:
            raise _fail(file, key, f"unknown key; allowed: {', '.join(_TOP_KEYS)}")
    for key in _TOP_KEYS:
        if key not in data:
            raise _fail(file, key, f"missing; required keys: {', '.join(_TOP_KEYS)}")
    for key in ("name", "description", "entry"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise _fail(file, key, f"got {data[key]!r}; allowed: a non-empty string")
    if data["name"] != file.parent.name:
        raise _fail(file, "name", f"got {data['name']!r}; allowed: {file.parent.name!r}")
    if not data["entry"].isidentifier():
        raise _fail(file, "entry", f"got {data['entry']!r}; allowed: a Python identifier")
    timeout = data["call_timeout_s"]
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise _fail(file, "call_timeout_s", f"got {timeout!r}; allowed: a number in (0, 60]")
    instances = data["instances"]
    if type(instances) is not int or not 1 <= instances <= 1000:
        raise _fail(file, "instances", f"got {instances!r}; allowed: an integer in 1..1000")
    splits = data["splits"]
    if not isinstance(splits, dict):
        raise _fail(file, "splits", f"got {splits!r}; allowed: a table with {', '.join(SPLITS)}")
    for key in splits:
        if key not in SPLITS:
            raise _fail(file, f"splits.{key}", f"unknown key; allowed: {', '.join(SPLITS)}")
    seeds = {}
    for split in SPLITS:
        if split not in splits:
            raise _fail(file, f"splits.{split}", f"missing; required: {', '.join(SPLITS)}")
        seeds[split] = _check_seed_list(file, f"splits.{split}", splits[split])
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = sorted(set(seeds[a]) & set(seeds[b]))
        if shared:
            raise _fail(
                file, f"splits.{b}", f"shares seeds {shared} with {a}; splits must be disjoint"
            )
    return TaskSpec(
        name=data["name"],
        description=data["description"].strip(),
        entry=data["entry"],
        call_timeout_s=float(timeout),
        instances=instances,
        train=seeds["train"],
        val=seeds["val"],
        test=seeds["test"],
        source=str(file),
    )


def _load_evaluator(task_dir: Path) -> ModuleType:
    path = task_dir / "evaluator.py"
    spec = importlib.util.spec_from_file_location(f"stopbox_evaluator_{task_dir.name}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has a loader
        raise TaskError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)  # trusted harness code (seeds/tasks), never LM output
    except Exception as exc:
        raise TaskError(f"{path}: failed to import: {exc}") from exc
    for name in ("generate", "score"):
        if not callable(getattr(module, name, None)):
            raise TaskError(f"{path}: {name}: missing; an evaluator defines generate and score")
    return module


def _short(text: str | None, limit: int = 300) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "no details"
    return last if len(last) <= limit else last[: limit - 3] + "..."


def _worse(a: str, b: str) -> str:
    return a if _STATUS_RANK.index(a) >= _STATUS_RANK.index(b) else b


@dataclass(frozen=True, slots=True)
class Task:
    """One loaded task.  ``evaluate`` is the trusted utility u(solution) in [0, 1]."""

    spec: TaskSpec
    utility_str: str
    seed_algorithm: str
    directory: Path
    evaluator: ModuleType

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def entry(self) -> str:
        return self.spec.entry

    def instance_rngs(self, split: str, seed: int, n: int) -> Iterator[np.random.Generator]:
        """Instance i: the split's seed ``i % len``, round ``i // len``, and ``seed``."""
        seeds = self.spec.split_seeds(split)
        for i in range(n):
            yield np.random.default_rng([seeds[i % len(seeds)], i // len(seeds), seed])

    def evaluate(
        self,
        sandbox: Sandbox,
        solution_source: str,
        *,
        split: str = "val",
        seed: int = 0,
        n_instances: int | None = None,
    ) -> Score:
        """Score ``solution_source`` on ``n_instances`` (default: task.toml's) of ``split``.

        Loads the solution once in one sandbox job and calls ``entry`` per instance.  A module
        that does not parse or load, or a call that times out, runs out of memory, violates the
        policy or is killed, gives utility 0 with the reason; a call that raises or returns an
        unacceptable output scores 0 for that instance.  Deterministic for deterministic
        solutions: same source, split and seed -> same utility.
        """
        seeds = self.spec.split_seeds(split)  # validates split
        n = self.spec.instances if n_instances is None else n_instances
        if type(seed) is not int or seed < 0:
            raise TaskError(f"task {self.name}: seed must be an integer >= 0, got {seed!r}")
        if type(n) is not int or n < 1:
            raise TaskError(f"task {self.name}: n_instances must be an integer >= 1, got {n!r}")
        if not isinstance(solution_source, str) or not solution_source.strip():
            return Score(0.0, "no solution: empty or not a string", 0, 0.0, "error")
        try:
            ast.parse(solution_source)  # parsing only: nothing from the solution runs here
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            where = f"line {exc.lineno}: " if isinstance(exc, SyntaxError) and exc.lineno else ""
            msg = exc.msg if isinstance(exc, SyntaxError) else f"{type(exc).__name__}: {exc}"
            return Score(0.0, f"syntax error: {where}{msg}", 0, 0.0, "error")
        score = self._run(sandbox, solution_source, split, seed, n)
        log.debug(
            "task_evaluated",
            task=self.name,
            split=split,
            seed=seed,
            seeds=len(seeds),
            instances=n,
            utility=score.utility,
            status=score.status,
            calls=score.calls,
        )
        return score

    def _run(self, sandbox: Sandbox, source: str, split: str, seed: int, n: int) -> Score:
        job = sandbox.job(source, filename=f"{self.name}_solution.py")
        results: list[ExecResult] = [job.load_result]
        try:
            outcome = self._drive(job, results, split, seed, n)
        finally:
            final = job.close()
        utility, reason, calls, status, utilities = outcome
        wall = sum(r.wall_s for r in results)
        return Score(utility, reason, calls, wall, status, tuple(results), final, utilities)

    def _drive(
        self, job: Job, results: list[ExecResult], split: str, seed: int, n: int
    ) -> tuple[float, str, int, str, tuple[float, ...]]:
        """Call the loaded solution per instance: (utility, reason, calls, status, per-instance)."""
        load = job.load_result
        if not load.ok:
            status = "error" if load.status is Status.ERROR else load.status.value
            return 0.0, f"loading failed ({load.status.value}): {_short(load.error)}", 0, status, ()
        timeout = self.spec.call_timeout_s
        utilities: list[float] = []
        status, problems = "ok", []
        for i, rng in enumerate(self.instance_rngs(split, seed, n)):
            args, hidden = self.evaluator.generate(rng)
            result = job.call(self.entry, args, timeout=timeout)
            results.append(result)
            if result.status in _FATAL or (result.ok and result.wall_s > timeout):
                st = result.status if result.status in _FATAL else Status.TIMEOUT
                what = {
                    Status.TIMEOUT: f"call took longer than the {timeout:g} s limit",
                    Status.MEMORY: "call ran out of memory",
                    Status.VIOLATION: f"sandbox violation: {_short(result.error)}",
                    Status.KILLED: f"call was killed: {_short(result.error)}",
                }[st]
                return 0.0, f"instance {i}: {what}", i + 1, st.value, tuple(utilities)
            if not result.ok:
                utilities.append(0.0)
                status = _worse(status, "error")
                problems.append(f"instance {i}: {self.entry} raised: {_short(result.error)}")
                continue
            value, problem = self.evaluator.score(hidden, result.value)
            value = 0.0 if problem else float(value)
            if problem:
                status = _worse(status, "invalid")
                problems.append(f"instance {i}: {problem}")
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:  # evaluator bug guard
                raise TaskError(f"{self.name}: evaluator returned {value!r} outside [0, 1]")
            utilities.append(value)
        utility = float(np.mean(utilities))
        if problems:
            reason = f"{len(problems)} of {n} instances scored 0: {problems[0]}"
        else:
            reason = f"{n} instances, mean utility {utility:.4f}"
        return utility, reason, n, status, tuple(utilities)


def load_task(name: str, tasks_dir: Path | None = None) -> Task:
    """Load and validate ``seeds/tasks/<name>``; TaskError names the file, key and what is
    allowed (or, for an unknown name, the known tasks)."""
    known = task_names(tasks_dir)
    if name not in known:
        raise TaskError(f"unknown task {name!r}; known tasks: {', '.join(known) or 'none'}")
    task_dir = (TASKS_DIR if tasks_dir is None else tasks_dir) / name
    for file in _FILES:
        if not (task_dir / file).is_file():
            raise TaskError(f"{task_dir / file}: missing; a task needs {', '.join(_FILES)}")
    toml_path = task_dir / "task.toml"
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TaskError(f"{toml_path}: -: not valid TOML: {exc}") from None
    spec = _parse_spec(toml_path, data)
    return Task(
        spec=spec,
        utility_str=(task_dir / "utility.py").read_text(encoding="utf-8"),
        seed_algorithm=(task_dir / "seed_algorithm.py").read_text(encoding="utf-8"),
        directory=task_dir,
        evaluator=_load_evaluator(task_dir),
    )
