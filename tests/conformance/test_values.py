"""Conformance: values, output, errors, scripts and RPC behave the same on every backend."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stopbox.harness.sandbox import Proxy, RpcError, Sandbox, Status

ECHO = """
import numpy as np
def echo(*args, **kwargs):
    return [args, kwargs]
def double(a):
    return a * 2
def talk():
    print("to stdout")
    import sys
    print("to stderr", file=sys.stderr)
    return 1
def fail():
    raise ValueError("deliberate failure 1234")
"""


def test_values_round_trip_including_numpy(sandbox: Sandbox) -> None:
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    values: list[Any] = [1, -2.5, "text", None, True, [1, [2]], (3, 4), {"k": {"n": 1}},
                         {1: "int key"}, {5, 6}, b"\x00\xff", float("inf")]  # fmt: skip
    with sandbox.job(ECHO) as job:
        res = job.call("echo", values, {"array": arr, "nan": float("nan")})
        assert res.status is Status.OK, res.error
        back_args, back_kwargs = res.value
        assert list(back_args) == values
        assert isinstance(back_args, tuple)
        assert np.array_equal(back_kwargs["array"], arr)
        assert back_kwargs["array"].dtype == np.float32
        assert math.isnan(back_kwargs["nan"])
        res = job.call("double", [np.array([1, 2, 3], dtype=np.int64)])
        assert res.ok and res.value.tolist() == [2, 4, 6]


def test_unencodable_value_comes_back_tagged(sandbox: Sandbox) -> None:
    res = sandbox.exec("def f():\n    return object()\n", entry="f")
    assert res.ok
    assert res.value == {"__unencodable__": "object"}


def test_stdout_and_stderr_are_captured_per_call_and_per_job(sandbox: Sandbox) -> None:
    with sandbox.job("print('at load')\n" + ECHO) as job:
        assert job.load_result.stdout == "at load\n"
        res = job.call("talk")
        assert res.stdout == "to stdout\n"
        assert res.stderr == "to stderr\n"
        final = job.close()
    assert final.stdout == "at load\nto stdout\n"
    assert final.stderr == "to stderr\n"


def test_exception_is_status_error_with_traceback(sandbox: Sandbox) -> None:
    res = sandbox.exec(ECHO, entry="fail")
    assert res.status is Status.ERROR
    assert res.error is not None
    assert "ValueError: deliberate failure 1234" in res.error
    assert "Traceback" in res.error and "in fail" in res.error


def test_syntax_error_and_missing_entry_are_errors(sandbox: Sandbox) -> None:
    res = sandbox.exec("def f(:\n", entry="f")
    assert res.status is Status.ERROR and "SyntaxError" in (res.error or "")
    res = sandbox.exec("x = 1\n", entry="nope")
    assert res.status is Status.ERROR and "nope" in (res.error or "")


def test_script_mode_runs_main(sandbox: Sandbox) -> None:
    res = sandbox.exec("if __name__ == '__main__':\n    print('main ran')\n")
    assert res.ok and res.stdout == "main ran\n"
    res = sandbox.exec("import sys\nsys.exit(3)\n")
    assert res.status is Status.ERROR


def test_helpers_module_is_importable_and_extracts_code(sandbox: Sandbox) -> None:
    src = "from helpers import extract_code\ndef f(t):\n    return extract_code(t)\n"
    text = "Here:\n```python\nprint(1)\n```\nand ```python\nprint(2)\n```"
    res = sandbox.exec(src, entry="f", args=[[text, "no fence"]])
    assert res.ok, res.error
    assert res.value == ["print(1)", "no fence"]


def test_rpc_proxies_methods_live_attributes_and_setattr(sandbox: Sandbox) -> None:
    calls: list[tuple[str, str, list[Any], dict[str, Any]]] = []

    def handler(obj: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        calls.append((obj, method, args, kwargs))
        if method == "prompt":
            return f"answer to {args[0]}"
        if method == "__getattr__":
            return 41 + len(calls)
        if method == "__call__":
            return sum(args)
        if method == "fail":
            raise RpcError("budget gone", "BudgetExceeded")
        return None

    src = """
def improve(lm, utility):
    out = [lm.prompt("q1"), lm.budget, lm.static, utility(1, 2, use_sandbox=True)]
    try:
        lm.fail()
    except Exception as exc:
        out.append(type(exc).__name__ + ":" + str(exc))
    try:
        lm.budget = 10**9
    except AttributeError:
        out.append("setattr refused")
    return out
"""
    lm = Proxy("language_model", attrs={"static": "s"}, live=("budget",),
               methods=("prompt", "fail"))  # fmt: skip
    utility = Proxy("utility", callable=True)
    with sandbox.job(src, rpc=handler) as job:
        res = job.call("improve", [lm, utility])
    assert res.ok, res.error
    assert res.value[0] == "answer to q1"
    assert res.value[1] == 43  # second RPC
    assert res.value[2] == "s"
    assert res.value[3] == 3
    assert res.value[4] == "BudgetExceeded:budget gone"
    assert res.value[5] == "setattr refused"
    assert ("language_model", "__setattr__", ["budget", 10**9], {}) in calls
    assert ("utility", "__call__", [1, 2], {"use_sandbox": True}) in calls


def test_nested_job_from_inside_an_rpc_handler(sandbox: Sandbox) -> None:
    """The engine evaluates candidates in fresh jobs from inside the utility RPC."""

    def handler(obj: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        inner = sandbox.exec("def algorithm(x):\n    return x * 10\n", entry="algorithm",
                             args=[args[0]])  # fmt: skip
        return inner.value

    src = "def run(u):\n    return [u(i) for i in range(3)]\n"
    with sandbox.job(src, rpc=handler) as job:
        res = job.call("run", [Proxy("utility", callable=True)])
    assert res.ok, res.error
    assert res.value == [0, 10, 20]


def test_job_may_signal_itself_but_not_its_parent(sandbox: Sandbox) -> None:
    # the job is pid 1 of its own pid namespace: no parent to see, no other process to reach
    src = (
        "import os, signal\n"
        "def f():\n"
        "    os.kill(os.getpid(), 0)\n"
        "    signal.signal(signal.SIGUSR1, lambda s, fr: None)\n"
        "    signal.raise_signal(signal.SIGUSR1)\n"
        "    if os.getppid() != 0:\n        return 'parent visible'\n"
        "    for pid in range(2, 64):\n"
        "        try:\n            os.kill(pid, 0)\n            return f'pid {pid} reachable'\n"
        "        except OSError:\n            pass\n"
        "    return 'self only'\n"
    )
    res = sandbox.exec(src, entry="f")
    # kill(other pid) is denied and seen outside: errno + violation (monitor), or SIGSYS (gVisor)
    assert res.value == "self only" or res.status is Status.VIOLATION, res.error
    assert res.violations, "a denied kill() left no violation"


def test_nested_jobs_three_deep_start_extra_workers(sandbox: Sandbox) -> None:
    """More nested jobs than pooled workers must not deadlock: the pool starts extra ones."""

    def handler(obj: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        depth = int(args[0])
        if depth >= 3:
            return depth
        with sandbox.job(NESTED, rpc=handler) as job:
            # each level waits for the deeper ones (and their worker starts): generous timeout
            return job.call("go", [depth + 1, Proxy("utility", callable=True)], timeout=30).value

    with sandbox.job(NESTED, rpc=handler) as job:
        res = job.call("go", [0, Proxy("utility", callable=True)], timeout=30)
    assert res.ok, res.error
    assert res.value == 3


NESTED = "def go(depth, u):\n    return u(depth)\n"
