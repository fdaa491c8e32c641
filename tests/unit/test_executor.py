"""Executors without Ray: the local executor, the flag checks, and the Ray executor's fault
handling against a stand-in ``ray`` module (node deaths, retries, dedup) — no cluster needed."""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from stopbox.harness.errors import UsageError
from stopbox.harness.executor import (
    Deduplicator,
    ExecutorError,
    ExecutorUnavailableError,
    LocalExecutor,
    Unit,
    UnitResult,
    make_executor,
)
from stopbox.harness.executor.ray_ import RayExecutor
from stopbox.harness.executor.testing import digest_unit, failing_unit, pid_unit

UNITS = [Unit(f"u{i}", (f"text-{i}", 2)) for i in range(12)]
EXPECTED = {u.id: digest_unit(*u.args) for u in UNITS}


@pytest.mark.parametrize(
    "executor",
    [LocalExecutor(1), LocalExecutor(3, processes=False), LocalExecutor(2, processes=True)],
    ids=["inline", "threads", "processes"],
)
def test_local_executor_returns_every_unit_once(executor: LocalExecutor) -> None:
    with executor:
        results = list(executor.run(digest_unit, UNITS))
    assert sorted(r.id for r in results) == sorted(EXPECTED)
    assert {r.id: r.value for r in results} == EXPECTED
    assert all(r.ok and r.tries == 1 for r in results)
    assert executor.progress.done == len(UNITS)
    assert sum(executor.progress.per_node.values()) == len(UNITS)


def test_local_processes_run_in_other_processes() -> None:
    import os

    with LocalExecutor(2) as executor:
        results = list(executor.run(pid_unit, [Unit(f"p{i}", (str(i), 0.05)) for i in range(6)]))
    pids = {r.value[1] for r in results}
    assert os.getpid() not in pids
    assert {r.node for r in results} == {f"pid:{p}" for p in pids}


def test_a_failing_unit_is_a_recorded_error_not_a_crash() -> None:
    units = [Unit("ok", ("a",)), Unit("bad", ("no luck",)), Unit("ok2", ("b",))]

    def fn(arg: str) -> str:
        return failing_unit(arg) if arg == "no luck" else digest_unit(arg)

    results = {r.id: r for r in LocalExecutor(1).run(fn, units)}
    assert results["ok"].value == digest_unit("a")
    assert results["bad"].value is None
    assert results["bad"].error is not None
    assert results["bad"].error.startswith("RuntimeError: no luck")


def test_map_keeps_input_order_and_raises_unit_errors() -> None:
    executor = LocalExecutor(3, processes=False)
    assert executor.map(digest_unit, [("x",), ("y",), ("z",)]) == [
        digest_unit("x"),
        digest_unit("y"),
        digest_unit("z"),
    ]
    with pytest.raises(ExecutorError, match="no luck"):
        executor.map(failing_unit, [("no luck",)])


def test_duplicate_unit_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate unit id 'a'"):
        list(LocalExecutor(1).run(digest_unit, [Unit("a", ("x",)), Unit("a", ("y",))]))


def test_deduplicator_counts_a_unit_once() -> None:
    dedup = Deduplicator(frozenset({"a", "b"}))
    assert dedup.accept(UnitResult("a", 1))
    assert not dedup.accept(UnitResult("a", 2, node="other"))
    assert dedup.done["a"].value == 1
    assert dedup.dropped == 1
    assert dedup.missing() == ["b"]
    with pytest.raises(ExecutorError, match="never submitted"):
        dedup.accept(UnitResult("zzz"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "spark"}, "expected one of local, ray"),
        ({"name": "local", "ray_address": "127.0.0.1:6379"}, "--ray-address needs --executor ray"),
        ({"name": "local", "jobs": 0}, "--jobs must be at least 1"),
        ({"name": "ray", "max_concurrency": 0}, "--max-concurrency must be at least 1"),
    ],
)
def test_bad_executor_flags_are_usage_errors(kwargs: dict[str, Any], message: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(UsageError, match=message):
        make_executor(name, **kwargs)


def test_local_is_the_default_and_imports_no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` would fail
    executor = make_executor(None, jobs=2)
    assert isinstance(executor, LocalExecutor)
    assert executor.map(digest_unit, [("x",)]) == [digest_unit("x")]


def test_missing_ray_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ExecutorUnavailableError, match=r"pip install 'stopbox\[ray\]'"):
        make_executor("ray")


# --------------------------------------------------------------------------- a stand-in for ray


class FakeRayError(Exception):
    pass


class FakeTaskError(FakeRayError):
    pass


class FakeRay:
    """Just enough of ``ray`` for RayExecutor: nodes, pinned actors, refs, wait/get, kill.

    ``die_after[node] = k``: the node dies (its refs raise) once it has been given k units."""

    def __init__(self, nodes: list[str], die_after: dict[str, int] | None = None) -> None:
        self.alive = {n: True for n in nodes}
        self.die_after = dict(die_after or {})
        self.given: dict[str, int] = dict.fromkeys(nodes, 0)
        self.refs: dict[int, tuple[str, Callable[[], Any]]] = {}
        self.counter = itertools.count()
        self.initialised = False
        self.init_kwargs: dict[str, Any] = {}
        self.killed: list[str] = []
        self.exceptions = types.SimpleNamespace(RayError=FakeRayError, RayTaskError=FakeTaskError)
        strategies = types.SimpleNamespace(
            NodeAffinitySchedulingStrategy=lambda node_id, soft: node_id
        )
        self.util = types.SimpleNamespace(scheduling_strategies=strategies)

    def is_initialized(self) -> bool:
        return self.initialised

    def init(self, **kwargs: Any) -> None:
        self.initialised, self.init_kwargs = True, kwargs

    def shutdown(self) -> None:
        self.initialised = False

    def nodes(self) -> list[dict[str, Any]]:
        return [
            {"NodeID": n, "Alive": a, "NodeManagerAddress": "127.0.0.1"}
            for n, a in self.alive.items()
        ]

    def remote(self, cls: type) -> Any:
        fake = self

        class Options:
            def __init__(self, node: str) -> None:
                self.node = node

            def remote(self, label: str) -> Any:
                runner = cls(label)
                node = self.node

                class Method:
                    def remote(self, fn: Callable[..., Any], unit: Unit) -> int:
                        ref = next(fake.counter)
                        fake.given[node] += 1
                        fake.refs[ref] = (node, lambda: runner.run(fn, unit))
                        if fake.given[node] >= fake.die_after.get(node, 1 << 30):
                            fake.alive[node] = False
                        return ref

                class Ping:
                    def remote(self) -> int:
                        ref = next(fake.counter)
                        fake.refs[ref] = (node, runner.ping)
                        return ref

                return types.SimpleNamespace(run=Method(), ping=Ping(), node=node)

        return types.SimpleNamespace(options=lambda **kw: Options(kw["scheduling_strategy"]))

    def wait(self, refs: list[int], num_returns: int, timeout: float) -> tuple[list[int], list]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: int) -> Any:
        node, thunk = self.refs.pop(ref)
        if not self.alive[node]:
            raise FakeRayError(f"node {node} died")
        return thunk()

    def kill(self, handle: Any, no_restart: bool) -> None:
        self.killed.append(handle.node)


def _fake_executor(fake: FakeRay, **kwargs: Any) -> RayExecutor:
    return RayExecutor("127.0.0.1:6379", ray_module=fake, env={}, **kwargs)


def test_ray_units_spread_over_nodes_and_all_come_back() -> None:
    fake = FakeRay(["head", "worker"])
    with _fake_executor(fake, in_flight=4) as executor:
        results = list(executor.run(digest_unit, UNITS))
    assert {r.id: r.value for r in results} == EXPECTED
    assert {r.node for r in results} == {"127.0.0.1/head", "127.0.0.1/worker"}
    assert fake.init_kwargs["address"] == "127.0.0.1:6379"
    assert not fake.initialised  # closed


def test_a_node_that_dies_mid_run_loses_nothing_and_counts_nothing_twice() -> None:
    fake = FakeRay(["head", "worker"], die_after={"worker": 3})
    with _fake_executor(fake, in_flight=4) as executor:
        results = list(executor.run(digest_unit, UNITS))
    assert sorted(r.id for r in results) == sorted(EXPECTED)  # each unit once
    assert {r.id: r.value for r in results} == EXPECTED
    retried = [r for r in results if r.tries > 1]
    assert retried and all(r.node == "127.0.0.1/head" for r in retried)
    assert "worker" in fake.killed
    assert executor.progress.retried == len(retried)


def test_every_node_gone_is_an_executor_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from stopbox.harness.executor import ray_

    monkeypatch.setattr(ray_, "NODE_WAIT_S", 0.2)
    fake = FakeRay(["only"], die_after={"only": 2})
    with _fake_executor(fake, in_flight=2) as executor:
        with pytest.raises(ExecutorError, match="no alive node"):
            list(executor.run(digest_unit, UNITS))


def test_api_key_travels_in_the_runtime_env_only() -> None:
    fake = FakeRay(["head"])
    env = {"OPENAI_API_KEY": "sk-test", "HOME": "/root", "OPENAI_BASE_URL": "http://127.0.0.1:1"}
    with RayExecutor("127.0.0.1:6379", ray_module=fake, env=env) as executor:
        results = list(executor.run(digest_unit, UNITS[:2]))
    assert fake.init_kwargs["runtime_env"] == {
        "env_vars": {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:1"}
    }
    assert all("sk-test" not in repr(u.args) for u in UNITS[:2]) and len(results) == 2


def test_status_file_follows_the_units(tmp_path: Any) -> None:
    status = tmp_path / "executor.json"
    executor = make_executor("local", jobs=2, processes=False, status_file=status)
    results = list(executor.run(digest_unit, UNITS))
    import json

    summary = json.loads(status.read_text())
    assert summary["executor"] == "local"
    assert (summary["units"], summary["done"], summary["retried"]) == (len(UNITS), len(UNITS), 0)
    assert sum(summary["per_node"].values()) == len(results) == len(UNITS)


def test_an_address_where_nothing_answers_fails_fast() -> None:
    import socket

    from stopbox.harness.executor.ray_ import _check_reachable

    with socket.socket() as sock:  # a free port on loopback, closed again: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ExecutorUnavailableError, match="no Ray head answers there"):
        _check_reachable(f"127.0.0.1:{port}")
    with pytest.raises(ExecutorUnavailableError, match="expected HOST:PORT"):
        _check_reachable("headnode")
