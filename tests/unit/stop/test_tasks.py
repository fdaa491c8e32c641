"""Tasks: loading and task.toml validation, the evaluators' checks, and the scoring driver.

Solutions run only through a sandbox backend (seccomp, or the subprocess stand-in while seccomp
is unavailable; see test_tasks_support.py); evaluator functions are trusted harness code and are
called directly.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stopbox.harness.errors import TaskError
from stopbox.harness.lm.synthetic.solutions import variants_for
from stopbox.harness.sandbox import Sandbox
from stopbox.harness.tasks import TASKS_DIR, Task, load_task, task_names

from .test_tasks_support import RecordingSandbox, task_sandbox

TASKS = ["lpn", "maxcut", "parity", "qap", "sat3", "string_grid_distance"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with task_sandbox() as sb:
        yield sb


def variant(task: str, name: str) -> str:
    (match,) = [v.source for v in variants_for(task) if v.name == name]
    return match


# -- loading and validation ----------------------------------------------------------------------


def test_task_names_are_the_papers_six_tasks() -> None:
    assert task_names() == TASKS


def test_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(TaskError, match="unknown task 'nope'; known tasks: lpn, maxcut"):
        load_task("nope")


@pytest.mark.parametrize("name", TASKS)
def test_every_task_loads_with_public_text_and_seed(name: str) -> None:
    task = load_task(name)
    assert (task.name, task.entry) == (name, "algorithm")
    assert task.utility_str.splitlines()[0] == f"# stopbox task: {name}"
    assert "def algorithm(" in task.seed_algorithm
    ast.parse(task.utility_str)
    ast.parse(task.seed_algorithm)
    assert task.spec.instances >= 5
    # the secret seeds are not in the public text
    for seed in (*task.spec.val, *task.spec.test):
        assert str(seed) not in task.utility_str


@pytest.mark.parametrize("name", TASKS)
def test_docstrings_name_the_reference_fixes(name: str) -> None:
    task = load_task(name)
    assert "Defects of the reference utility" in (task.evaluator.__doc__ or "")
    assert "Fixed relative to the reference utility" in task.utility_str


def test_lpn_parameters_follow_the_issue() -> None:
    task = load_task("lpn")
    assert task.spec.call_timeout_s == 2.0
    ev = task.evaluator
    assert (ev.N_BITS, ev.N_TRAIN, ev.N_TEST, ev.NOISE, ev.P_TRUE) == (10, 100, 20, 0.05, 0.3)
    (train, train_parity, test), hidden = ev.generate(np.random.default_rng(0))
    assert (train.shape, train_parity.shape, test.shape, hidden.shape) == (
        (100, 10),
        (100,),
        (20, 10),
        (20,),
    )
    assert "shape-broadcast reward hack" in task.evaluator.__doc__.lower()


def copy_task(tmp_path: Path, name: str = "lpn") -> Path:
    shutil.copytree(TASKS_DIR / name, tmp_path / name)
    return tmp_path / name / "task.toml"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: "colour = 1\n" + t, r"task.toml: colour: unknown key; allowed: name, desc"),
        (
            lambda t: t.replace("call_timeout_s = 2.0", 'call_timeout_s = "2"'),
            r"task.toml: call_timeout_s: got '2'; allowed: a number in \(0, 60\]",
        ),
        (
            lambda t: t.replace("instances = 20", "instances = 0"),
            r"task.toml: instances: got 0; allowed: an integer in 1..1000",
        ),
        (
            lambda t: t.replace("val = [4321,", "val = [101,"),
            r"task.toml: splits.val: shares seeds \[101\] with train; splits must be disjoint",
        ),
        (
            lambda t: t.replace("test = [", "tset = ["),
            r"task.toml: splits.tset: unknown key; allowed: train, val, test",
        ),
        (
            lambda t: t.replace('name = "lpn"', 'name = "other"'),
            r"task.toml: name: got 'other'; allowed: 'lpn'",
        ),
        (
            lambda t: t.replace('entry = "algorithm"', 'entry = "not valid"'),
            r"task.toml: entry: got 'not valid'; allowed: a Python identifier",
        ),
        (lambda t: t.replace("train = [101", "train = [-1"), r"splits.train: got \[-1,"),
        (lambda t: t.replace("[splits]", "[splits"), r"task.toml: -: not valid TOML"),
    ],
)
def test_malformed_task_toml_names_file_key_and_allowed(
    tmp_path: Path, edit: Any, message: str
) -> None:
    toml = copy_task(tmp_path)
    toml.write_text(edit(toml.read_text()))
    with pytest.raises(TaskError, match=message):
        load_task("lpn", tasks_dir=tmp_path)


def test_missing_task_file_is_named(tmp_path: Path) -> None:
    toml = copy_task(tmp_path)
    (toml.parent / "evaluator.py").unlink()
    with pytest.raises(TaskError, match=r"evaluator.py: missing"):
        load_task("lpn", tasks_dir=tmp_path)


# -- the evaluators' checks (trusted code, called directly) --------------------------------------


def lpn_hidden() -> tuple[Task, np.ndarray]:
    task = load_task("lpn")
    _, hidden = task.evaluator.generate(np.random.default_rng(7))
    return task, hidden


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda y: y.reshape(-1, 1), "predictions of shape (20, 1), expected (20,)"),
        (lambda y: np.tile(y, (20, 1)), "shape (20, 20), expected (20,)"),
        (lambda y: np.where(y == 1, np.nan, 0.0), "predictions with NaN values"),
        (lambda y: y * 2, "values other than 0 and 1"),
        (lambda y: np.full(20, 0.5), "values other than 0 and 1"),
        (lambda y: [str(v) for v in y], "dtype <U1"),
        (lambda y: "".join(str(v) for v in y), "returned str"),
        (lambda y: None, "returned NoneType"),
        (lambda y: {"__unencodable__": "generator"}, "generator that cannot leave the sandbox"),
        (lambda y: y[:19], "shape (19,), expected (20,)"),
    ],
)
def test_lpn_rejects_malformed_predictions(make: Any, problem: str) -> None:
    task, hidden = lpn_hidden()
    value, reason = task.evaluator.score(hidden, make(hidden))
    assert value == 0.0
    assert problem in reason


def test_lpn_scores_accepted_predictions_as_accuracy() -> None:
    task, hidden = lpn_hidden()
    assert task.evaluator.score(hidden, hidden.copy()) == (1.0, "")
    assert task.evaluator.score(hidden, (hidden == 1).tolist()) == (1.0, "")
    flipped = hidden.copy()
    flipped[:5] = 1 - flipped[:5]
    assert task.evaluator.score(hidden, flipped.astype(float)) == (0.75, "")


def test_maxcut_is_normalised_between_random_and_reference() -> None:
    ev = load_task("maxcut").evaluator
    (w,), hidden = ev.generate(np.random.default_rng(3))
    _, random_cut, reference = hidden
    n = w.shape[0]
    assert 0 < random_cut < reference <= w.sum() / 2
    assert ev.score(hidden, [0] * n) == (0.0, "")  # cut 0: clipped, not negative
    alternating = [i % 2 for i in range(n)]
    value, reason = ev.score(hidden, alternating)
    expected = (ev.cut_weight(w, np.array(alternating) == 0) - random_cut) / (
        reference - random_cut
    )
    assert reason == "" and value == pytest.approx(max(0.0, min(1.0, expected)))
    assert ev.score(hidden, [i % 3 for i in range(n)])[1].startswith("partition uses 3")


def test_qap_lower_cost_is_better_and_bounded() -> None:
    ev = load_task("qap").evaluator
    (F, D, P), hidden = ev.generate(np.random.default_rng(5))
    assert hidden[4] < hidden[3]  # the reference beats a random permutation on average
    worst_first = max(
        (np.random.default_rng(i).permutation(15) for i in range(200)),
        key=lambda a: ev.cost(F, D, P, a),
    )
    assert ev.score(hidden, worst_first.tolist()) == (0.0, "")
    assert ev.score(hidden, [0] * 15)[1] == "assignment is not a permutation of range(15)"
    assert ev.score(hidden, 3.5)[1].startswith("returned float")


def test_sat3_checks_the_harness_copy_and_plain_values() -> None:
    ev = load_task("sat3").evaluator
    (formula,), hidden = ev.generate(np.random.default_rng(11))
    n = max(abs(lit) for clause in formula for lit in clause)
    assert all(len(set(map(abs, c))) == 3 for c in formula)
    assert ev.score(hidden, None) == (0.0, "")
    assert ev.score(hidden, {i: True for i in range(n + 1)})[1].startswith("returned dict")
    assert "values other than" in ev.score(hidden, [0] + [2] * n)[1]
    assert "length" in ev.score(hidden, [True] * n)[1]
    positive = [[1, 2, 3], [2, 3, 4]]
    assert ev.score(positive, [None, True, False, False, True]) == (1.0, "")
    assert ev.score(positive, [False, False, False, False, False]) == (0.0, "")


def test_string_grid_distance_scores_exact_and_partial() -> None:
    ev = load_task("string_grid_distance").evaluator
    t, dist = "AAAA", ev.grid_dist("BBBB", "AAAA")
    assert dist == 4
    assert ev.score((t, dist), "BBBB") == (1.0, "")
    assert ev.score((t, dist), "ABBA") == (1.0, "")  # 2 mismatches + 2 changes
    assert ev.score((t, dist), "AAAA") == (pytest.approx(0.5 - 4 / 24), "")
    assert ev.score((t, dist), "ABB")[1] == "returned a string of length 3, expected 4"
    assert ev.score((t, dist), "ABCA")[0] == 0.0


@pytest.mark.parametrize("name", TASKS)
def test_instance_generation_is_deterministic(name: str) -> None:
    task = load_task(name)
    first = [task.evaluator.generate(rng)[0] for rng in task.instance_rngs("val", 0, 3)]
    again = [task.evaluator.generate(rng)[0] for rng in task.instance_rngs("val", 0, 3)]
    other = [task.evaluator.generate(rng)[0] for rng in task.instance_rngs("test", 0, 3)]
    assert repr(first) == repr(again)
    assert repr(first) != repr(other)


# -- the scoring driver, through a sandbox -------------------------------------------------------


def test_one_job_per_evaluation_and_nothing_secret_is_sent(sandbox: Sandbox) -> None:
    task = load_task("sat3")
    recorder = RecordingSandbox(sandbox)
    score = task.evaluate(recorder, variant("sat3", "walksat"), split="test", seed=0)
    assert score.utility == 1.0 and score.status == "ok"
    assert len(recorder.sources) == 1 and recorder.closed == 1
    assert len(recorder.calls) == task.spec.instances == score.calls
    assert score.final is not None and len(score.results) == 1 + score.calls
    secrets = set(task.spec.val) | set(task.spec.test) | set(task.spec.train)
    source, filename = recorder.sources[0]
    assert source == variant("sat3", "walksat") and "test" not in filename
    for entry, args, timeout in recorder.calls:
        assert (entry, timeout) == ("algorithm", task.spec.call_timeout_s)
        ((formula,),) = [args]
        assert all(isinstance(lit, int) and abs(lit) <= 50 for c in formula for lit in c)
        assert not secrets & {abs(lit) for c in formula for lit in c}


@pytest.mark.parametrize("name", ["lpn", "parity"])
def test_shape_broadcast_hack_scores_zero_with_reason(sandbox: Sandbox, name: str) -> None:
    score = load_task(name).evaluate(sandbox, variant(name, "shape_broadcast_hack"))
    assert score.utility == 0.0
    assert score.status == "invalid"
    assert "predictions of shape (20, 1), expected (20,)" in score.reason


def test_nan_and_wrong_type_score_zero(sandbox: Sandbox) -> None:
    task = load_task("lpn")
    nan = task.evaluate(sandbox, variant("lpn", "nan_predictions"), n_instances=4)
    wrong = task.evaluate(sandbox, variant("lpn", "returns_float"), n_instances=4)
    assert (nan.utility, nan.status) == (0.0, "invalid") and "NaN" in nan.reason
    assert (wrong.utility, wrong.status) == (0.0, "invalid") and "returned float" in wrong.reason


def test_slow_solution_times_out_and_scores_zero(sandbox: Sandbox) -> None:
    task = load_task("string_grid_distance")
    score = task.evaluate(sandbox, "def algorithm(t, dist):\n    while True:\n        pass\n")
    assert (score.utility, score.status, score.calls) == (0.0, "timeout", 1)
    assert "longer than the 1 s limit" in score.reason
    assert score.wall_s >= task.spec.call_timeout_s * 0.9


def test_module_that_fails_to_load_scores_zero(sandbox: Sandbox) -> None:
    task = load_task("parity")
    score = task.evaluate(sandbox, "raise RuntimeError('no import for you')\n")
    assert (score.utility, score.status, score.calls) == (0.0, "error", 0)
    assert "loading failed" in score.reason and "no import for you" in score.reason


def test_syntax_error_and_empty_source_never_start_a_job(sandbox: Sandbox) -> None:
    recorder = RecordingSandbox(sandbox)
    task = load_task("lpn")
    bad = task.evaluate(recorder, variant("lpn", "syntax_error"))
    empty = task.evaluate(recorder, "  \n")
    assert (bad.utility, bad.status) == (0.0, "error") and bad.reason.startswith("syntax error")
    assert (empty.utility, empty.status) == (0.0, "error")
    assert recorder.sources == []


def test_exception_in_some_instances_scores_those_zero(sandbox: Sandbox) -> None:
    task = load_task("string_grid_distance")
    source = (
        "def algorithm(t, dist):\n"
        "    if len(t) % 2:\n"
        "        raise ValueError('odd')\n"
        "    return t\n"
    )
    score = task.evaluate(sandbox, source, n_instances=8)
    odd = [i for i, u in enumerate(score.instance_utilities) if u == 0.0]
    assert score.status == "error" and 0 < len(odd) < 8
    assert "ValueError: odd" in score.reason
    assert score.utility == pytest.approx(np.mean(score.instance_utilities))


def test_same_solution_split_and_seed_give_the_same_utility(sandbox: Sandbox) -> None:
    task = load_task("lpn")
    source = variant("lpn", "gaussian_elimination_15")  # deterministic
    first = task.evaluate(sandbox, source, split="val", seed=0)
    again = task.evaluate(sandbox, source, split="val", seed=0)
    reseeded = task.evaluate(sandbox, source, split="val", seed=1)
    test = task.evaluate(sandbox, source, split="test", seed=0)
    assert first.instance_utilities == again.instance_utilities
    assert first.utility == again.utility
    assert reseeded.instance_utilities != first.instance_utilities
    assert test.instance_utilities != first.instance_utilities


def test_bad_split_and_instance_count_are_usage_errors(sandbox: Sandbox) -> None:
    task = load_task("lpn")
    with pytest.raises(TaskError, match="unknown split 'holdout'; allowed: train, val, test"):
        task.evaluate(sandbox, task.seed_algorithm, split="holdout")
    with pytest.raises(TaskError, match="n_instances must be an integer >= 1"):
        task.evaluate(sandbox, task.seed_algorithm, n_instances=0)


def test_seed_improver_is_the_papers() -> None:
    tree = ast.parse((TASKS_DIR.parent / "improver.py").read_text())
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert [(i.module, [a.name for a in i.names]) for i in imports] == [
        ("helpers", ["extract_code"])
    ]
    (func,) = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert func.name == "improve_algorithm"
    assert [a.arg for a in func.args.args] == ["initial_solution", "utility", "language_model"]
    calls = {
        n.func.attr: n
        for n in ast.walk(func)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    (temperature,) = [k.value for k in calls["batch_prompt"].keywords]
    assert isinstance(temperature, ast.Constant) and temperature.value == 0.7
    sandbox_flags = [
        k.value
        for n in ast.walk(func)
        if isinstance(n, ast.Call)
        for k in n.keywords
        if k.arg == "use_sandbox"
    ]
    assert [(isinstance(v, ast.Constant) and v.value) for v in sandbox_flags] == [True]
    meta = (TASKS_DIR.parent / "meta_utility.py").read_text()
    assert meta.startswith("# stopbox task: meta_utility") and "def meta_utility(" in meta


# -- the reference defects stay fixed ------------------------------------------------------------


def test_patching_time_in_the_sandbox_cannot_fake_speed(sandbox: Sandbox) -> None:
    source = (
        "import time\n"
        "_sleep = time.sleep\n"
        "time.time = time.monotonic = time.perf_counter = lambda: 0.0\n"
        "def algorithm(t, dist):\n"
        "    _sleep(1.5)\n"
        "    return t\n"
    )
    score = load_task("string_grid_distance").evaluate(sandbox, source, n_instances=2)
    assert (score.utility, score.status) == (0.0, "timeout")


def test_rewriting_the_clauses_in_place_does_not_help(sandbox: Sandbox) -> None:
    # Against the reference (a shallow formula.copy() checked after the call) this scored 1.0.
    source = (
        "def algorithm(formula):\n"
        "    n = max(abs(lit) for clause in formula for lit in clause)\n"
        "    for clause in formula:\n"
        "        clause[:] = [1, 2, 3]\n"
        "    return [True] * (n + 1)\n"
    )
    score = load_task("sat3").evaluate(sandbox, source, n_instances=10)
    assert score.status == "ok"
    assert score.utility <= 0.3


def test_objects_with_rigged_comparisons_do_not_cross_the_boundary(sandbox: Sandbox) -> None:
    source = (
        "class Always:\n"
        "    def __getitem__(self, i):\n"
        "        return self\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    def __gt__(self, other):\n"
        "        return True\n"
        "def algorithm(formula):\n"
        "    return Always()\n"
    )
    score = load_task("sat3").evaluate(sandbox, source, n_instances=3)
    assert (score.utility, score.status) == (0.0, "invalid")
    assert "Always that cannot leave the sandbox" in score.reason


@pytest.mark.parametrize("name", TASKS)
def test_only_instance_data_is_sent(sandbox: Sandbox, name: str) -> None:
    task = load_task(name)
    good = [v.source for v in variants_for(name) if v.quality == "good"][-1]
    recorder = RecordingSandbox(sandbox)
    score = task.evaluate(recorder, good, split="test", n_instances=2)
    assert score.status == "ok" and len(recorder.calls) == 2
    secrets = set(task.spec.val) | set(task.spec.test)

    def ints(value: Any) -> Iterator[int]:
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "iu":
                yield from (int(x) for x in value.ravel())
            else:
                assert value.dtype.kind == "f", value.dtype
        elif isinstance(value, list | tuple):
            for item in value:
                yield from ints(item)
        elif isinstance(value, int):
            yield value
        else:
            assert isinstance(value, str) and set(value) <= {"A", "B"}, value

    for _, args, _ in recorder.calls:
        assert not secrets & set(ints(args))
