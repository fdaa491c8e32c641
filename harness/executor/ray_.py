"""``--executor ray``: units of work on the nodes of a Ray cluster (extra ``stopbox[ray]``).

What runs where (docs/ray.md has the picture):

* the **driver** (the ``stopbox`` command) makes the units, sends them out, receives their
  results as data and alone writes the ledger;
* on **every alive node** one trusted *runner* (a Ray actor pinned to that node, many units at
  once in threads: LM-bound units mostly wait) runs ``fn(*unit.args)``: broker, LM client, the
  detectors and, when a unit executes untrusted code, that node's own local sandbox;
* untrusted code never runs in a runner or the driver, only in the node's sandbox, exactly as
  with the local executor.

Addresses: without ``address`` a *private* local Ray instance is started (``address="local"``,
its own temp dir, loopback node address, no dashboard) and shut down on :meth:`close`; stopbox
never joins a cluster the user did not name, because the API key travels to it.  The key and
the LM endpoint reach the runners only through the job's runtime env (``env_vars``), never the
arguments of a unit; the sandbox does not pass the runner's environment on to jobs.

Faults: when a node (or its runner) dies, the units in flight there are sent to the runners
still alive (Ray's actor failure is noticed by the driver); results are keyed by unit id and the
first one wins, so nothing is counted twice.  A unit whose function raises is a result with
``error`` (recorded by the driver), not a crash.  Nodes that join while units are pending get a
runner too.

Ray is imported only here and only when this executor is made.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from stopbox.harness.executor._base import (
    Executor,
    ExecutorError,
    ExecutorUnavailableError,
    Unit,
    UnitResult,
    call_unit,
    close_node,
)

__all__ = ["RayExecutor", "import_ray", "FORWARDED_ENV", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'stopbox[ray]'"
FORWARDED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "STOPBOX_REQUIRE_BACKENDS",
)
"""Variables of the driver's environment the runners need (LM endpoint and key).  They travel
in the job's runtime env to the trusted runners only."""

MAX_TRIES = 3
"""A unit whose node died under it this many times stops the run (the cluster is failing)."""
REFRESH_S = 2.0
RUNNER_WAIT_S = 60.0
"""At the start of a run, how long to wait for every node's runner before units go out."""
START_WAIT_S = 300.0
"""How long runners may take to start (a new worker process importing stopbox) before giving up."""
CLOSE_WAIT_S = 20.0
"""At the end, how long runners may take to close their nodes' sandbox pools."""
NODE_WAIT_S = 30.0
"""How long to wait for a node to (re)appear when every runner is gone before giving up."""


LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Set to ``0``, Ray takes 127.0.0.1 as this node's address and binds its servers there (as it
does on macOS) instead of resolving ``127.0.0.1`` to the machine's outward address; it then
refuses to add nodes, which a private instance never has.  A multi-node cluster on one machine
needs its own network namespace instead (:mod:`stopbox.harness.executor.cluster`)."""


def import_ray() -> Any:
    """``import ray``, or a clear error that names the install command."""
    try:
        import ray
        import ray.exceptions
        import ray.util.scheduling_strategies
    except ImportError as exc:
        raise ExecutorUnavailableError(
            f"--executor ray needs Ray, which is not installed: {INSTALL_HINT} "
            f"(or pip install 'ray>=2.9'); --executor local needs nothing ({exc})"
        ) from None
    return ray


class _Runner:
    """The trusted runner on one node: runs units in threads (``max_concurrency``)."""

    def __init__(self, label: str) -> None:
        from stopbox.harness.executor._astlock import install

        self.label = label
        install()  # many units scan programs at once in this process (CPython gh-106905)

    def run(self, fn: Callable[..., Any], unit: Unit) -> UnitResult:
        return call_unit(fn, unit, self.label)

    def ping(self) -> str:
        return self.label

    def close(self) -> None:
        """Release what units kept on this node (a warm sandbox pool) before the runner goes."""
        close_node()


class _Shared:
    """An object that units on every node act on (one actor: calls run one at a time)."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def call(self, name: str, *args: Any) -> tuple[bool, Any]:
        try:
            return True, getattr(self.obj, name)(*args)
        except Exception as exc:  # raised again where the call was made
            return False, exc


class SharedProxy:
    """Calls ``proxy.method(*args)`` on the shared object, from the driver or any node."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            import ray

            ok, value = ray.get(self._handle.call.remote(name, *args))
            if not ok:
                raise value
            return value

        return call


@dataclass(slots=True)
class _Slot:
    node_id: str
    label: str
    handle: Any
    load: int = 0
    alive: bool = True
    ping: Any = None
    """The pending ping of a runner still starting (None once it answered)."""


def _node_label(node: Mapping[str, Any]) -> str:
    return f"{node.get('NodeManagerAddress', '?')}/{str(node.get('NodeID', ''))[:8]}"


def _is_loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


CONNECT_TIMEOUT_S = 10.0


def _check_reachable(address: str) -> None:
    """Fail fast when nothing answers at ``address`` (``ray.init`` would retry for minutes)."""
    if address.startswith("ray://") or address == "auto":
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ExecutorUnavailableError(
            f"--ray-address {address!r}: expected HOST:PORT (the head's GCS port, e.g. "
            "10.0.0.5:6379) or ray://HOST:PORT"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ExecutorUnavailableError(
            f"--ray-address {address}: no Ray head answers there ({exc}); start one with "
            f"`ray start --head --port {port}` or check the address"
        ) from None


class RayExecutor(Executor):
    """Units on the alive nodes of a Ray cluster; ``in_flight`` units at most at once."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        in_flight: int = 64,
        num_cpus: int = 1,
        object_store_memory: int = 200_000_000,
        forward_env: Sequence[str] = FORWARDED_ENV,
        env: Mapping[str, str] | None = None,
        ray_module: Any = None,
    ) -> None:
        """``ray_module``: a stand-in for the ``ray`` module (unit tests of the fault handling)."""
        super().__init__()
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        if address is not None and not address.strip():
            raise ExecutorUnavailableError("--ray-address: empty address")
        self.loopback = address is None or _is_loopback(address)
        self._probe_address = ray_module is None  # a stand-in module has no address to reach
        self.ray = ray_module or import_ray()
        self.address = address
        self.in_flight = in_flight
        source = os.environ if env is None else env
        self.env_vars = {k: source[k] for k in forward_env if source.get(k)}
        self._temp_dir: str | None = None
        self._restore: tuple[str | None, Any] | None = None
        self._slots: dict[str, _Slot] = {}
        self._gone: set[str] = set()
        self._last_refresh = 0.0
        self._shared: list[Any] = []
        self._connect(num_cpus, object_store_memory)

    # -- connection -----------------------------------------------------------------------------

    def _connect(self, num_cpus: int, object_store_memory: int) -> None:
        ray = self.ray
        if ray.is_initialized():
            raise ExecutorError("Ray is already initialised in this process; stopbox needs its own")
        runtime_env = {"env_vars": dict(self.env_vars)} if self.env_vars else None
        common: dict[str, Any] = {
            "runtime_env": runtime_env,
            "namespace": f"stopbox-{os.getpid()}",
            "log_to_driver": False,
            "configure_logging": False,
        }
        try:
            if self.address is None:
                # A private instance: never RAY_ADDRESS or the last `ray start` cluster.
                self._temp_dir = tempfile.mkdtemp(prefix="stopbox-ray-")
                self._loopback_only(True)
                ray.init(
                    address="local",
                    num_cpus=num_cpus,
                    object_store_memory=object_store_memory,
                    include_dashboard=False,
                    _temp_dir=self._temp_dir,
                    **common,
                )
            else:
                if self._probe_address:
                    _check_reachable(self.address)
                ray.init(address=self.address, **common)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            self._loopback_only(False)
            self._cleanup_temp()
            where = self.address or "a private local instance"
            raise ExecutorUnavailableError(f"Ray: cannot connect to {where}: {exc}") from None
        if self.loopback:
            outward = sorted(
                str(n.get("NodeManagerAddress"))
                for n in ray.nodes()
                if n.get("Alive") and not str(n.get("NodeManagerAddress", "")).startswith("127.")
            )
            if outward:  # fail closed: a loopback cluster must not advertise another address
                self.close()
                raise ExecutorUnavailableError(
                    f"Ray advertises {', '.join(outward)} for a loopback cluster; start the nodes "
                    "with --node-ip-address 127.0.0.1 (and Ray imported with "
                    f"{LOOPBACK_ENV}=0)"
                )

    def describe(self) -> str:
        where = self.address or "private local instance"
        alive = [s.label for s in self._slots.values() if s.alive]
        nodes = f", nodes {', '.join(alive)}" if alive else ""
        return f"ray ({where}, {self.in_flight} units in flight{nodes})"

    @property
    def parallelism(self) -> int:
        return self.in_flight

    # -- runners --------------------------------------------------------------------------------

    def _refresh(self, *, force: bool = False) -> None:
        """A runner on every alive node that has none; forget runners of dead nodes.

        A new runner takes units only once it has answered a ping (its process is up and has
        imported stopbox), so a node that is slow to start does not sit on units others could
        run."""
        now = time.monotonic()
        if not force and now - self._last_refresh < REFRESH_S:
            return
        self._last_refresh = now
        ray = self.ray
        affinity = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy
        alive = {str(n["NodeID"]): n for n in ray.nodes() if n.get("Alive")}
        for node_id, slot in self._slots.items():
            if node_id not in alive:
                slot.alive = False
        runner = ray.remote(_Runner)
        for node_id, node in alive.items():
            if node_id in self._gone or (node_id in self._slots and self._slots[node_id].alive):
                continue
            label = _node_label(node)
            handle = runner.options(
                num_cpus=0,
                max_concurrency=self.in_flight,
                max_restarts=0,
                scheduling_strategy=affinity(node_id, soft=False),
            ).remote(label)
            slot = _Slot(node_id, label, handle)
            slot.ping = handle.ping.remote()
            self._slots[node_id] = slot

    def _pick(self) -> _Slot | None:
        ready = [s for s in self._slots.values() if s.alive and s.ping is None]
        return min(ready, key=lambda s: (s.load, s.label)) if ready else None

    def _starting(self) -> dict[Any, _Slot]:
        return {s.ping: s for s in self._slots.values() if s.alive and s.ping is not None}

    def _await_runners(self, timeout: float) -> None:
        """At the start, give every node's runner up to ``timeout`` to come up, so the first
        units spread over the whole cluster (a runner that is slower joins later)."""
        starting = self._starting()
        if starting:
            self.ray.wait(list(starting), num_returns=len(starting), timeout=timeout)
        self._take_started(self.ray.wait, self.ray.exceptions.RayError)

    def _take_started(self, wait: Callable[..., Any], error: type[Exception]) -> None:
        """Runners that answered their ping take units from now on (never blocks)."""
        starting = self._starting()
        if not starting:
            return
        ready, _ = wait(list(starting), num_returns=len(starting), timeout=0)
        for ref in ready:
            self._answered(starting[ref], ref, error)

    def _lost(self, slot: _Slot) -> None:
        if slot.alive:
            slot.alive = False
            self._gone.add(slot.node_id)
            try:
                self.ray.kill(slot.handle, no_restart=True)
            except Exception:  # the runner is already gone with its node
                pass

    # -- running --------------------------------------------------------------------------------

    def _run(self, fn: Callable[..., Any], units: Sequence[Unit]) -> Iterator[UnitResult]:
        RayError = self.ray.exceptions.RayError  # noqa: N806
        queue: deque[tuple[Unit, int]] = deque((u, 1) for u in units)
        inflight: dict[Any, tuple[Unit, int, _Slot]] = {}
        self._refresh(force=True)
        self._await_runners(RUNNER_WAIT_S)
        idle_since: float | None = None
        starting_since: float | None = None
        while queue or inflight:
            self._take_started(self.ray.wait, RayError)
            self._dispatch(fn, queue, inflight)
            starting = self._starting()
            if not inflight and not starting:
                idle_since = self._wait_for_a_node(len(queue), idle_since)
                continue
            idle_since = None
            starting_since = None if inflight else (starting_since or time.monotonic())
            self._check_started(starting, starting_since)
            ready, _ = self.ray.wait([*inflight, *starting], num_returns=1, timeout=REFRESH_S)
            for ref in ready:
                if ref in starting:
                    self._answered(starting[ref], ref, RayError)  # up: takes units from now on
                else:
                    yield from self._collect(ref, inflight, queue)
            self._refresh()
        self.progress.in_flight = 0
        self.progress.in_flight_per_node = {}

    def _dispatch(
        self, fn: Callable[..., Any], queue: deque[tuple[Unit, int]],
        inflight: dict[Any, tuple[Unit, int, _Slot]],
    ) -> None:  # fmt: skip
        """Hand queued units to runners with room (at most ``in_flight`` at once), then show the
        load per node in the progress and the status file."""
        while queue and len(inflight) < self.in_flight:
            slot = self._pick()
            if slot is None:
                break
            unit, tries = queue.popleft()
            inflight[slot.handle.run.remote(fn, unit)] = (unit, tries, slot)
            slot.load += 1
        self.progress.in_flight = len(inflight)
        self.progress.in_flight_per_node = {
            s.label: s.load for s in self._slots.values() if s.alive and s.load
        }
        self.write_status()

    def _wait_for_a_node(self, remaining: int, idle_since: float | None) -> float:
        """Every runner is gone: wait for a node to (re)join (up to ``NODE_WAIT_S`` since
        ``idle_since``), then give up. Returns when the wait began."""
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since > NODE_WAIT_S:
            raise ExecutorError(
                f"Ray: no alive node to run {remaining} remaining units "
                f"(address {self.address or 'private'}); finished units are kept, "
                "resume to run the rest"
            )
        time.sleep(0.5)
        self._gone.clear()  # a node that came back may run units again
        self._refresh(force=True)
        return idle_since

    def _check_started(self, starting: dict[Any, _Slot], starting_since: float | None) -> None:
        """Nothing in flight and no runner up for ``START_WAIT_S``: stop with the likely cause."""
        if starting_since is not None and time.monotonic() - starting_since > START_WAIT_S:
            raise ExecutorError(
                f"Ray: no runner started within {START_WAIT_S:.0f} s on "
                f"{', '.join(s.label for s in starting.values())}; is stopbox installed "
                "on every node (python -m stopbox.harness.executor.testing)?"
            )

    def _answered(self, slot: _Slot, ref: Any, error: type[Exception]) -> None:
        """A runner's ping came back: up (it takes units), or lost if the ping failed."""
        try:
            self.ray.get(ref)
            slot.ping = None
        except error:
            self._lost(slot)

    def _collect(
        self, ref: Any, inflight: dict[Any, tuple[Unit, int, _Slot]],
        queue: deque[tuple[Unit, int]],
    ) -> Iterator[UnitResult]:  # fmt: skip
        """The result of the finished unit ``ref`` (none if it goes back in the queue: its node
        died; after ``MAX_TRIES`` such losses the run stops)."""
        ray = self.ray
        unit, tries, slot = inflight.pop(ref)
        slot.load -= 1
        try:
            result = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the runner itself raised (e.g. unpicklable)
            yield UnitResult(unit.id, None, f"{type(exc).__name__}: {exc}", slot.label)
            return
        except ray.exceptions.RayError as exc:  # the node or its runner died (RayActorError, kin)
            self._lost(slot)
            if tries >= MAX_TRIES:
                raise ExecutorError(
                    f"Ray: unit {unit.id} lost its node {tries} times ({exc}); "
                    "finished units are kept, resume to run the rest"
                ) from None
            queue.append((unit, tries + 1))
            return
        yield replace(result, tries=tries)

    def share(self, obj: Any) -> Any:
        """``obj`` in an actor on the driver's node (it goes when the driver goes)."""
        ray = self.ray
        affinity = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy
        here = ray.get_runtime_context().get_node_id()
        handle = (
            ray.remote(_Shared)
            .options(num_cpus=0, max_restarts=0, scheduling_strategy=affinity(here, soft=False))
            .remote(obj)
        )
        self._shared.append(handle)
        return SharedProxy(handle)

    # -- shutdown -------------------------------------------------------------------------------

    def _loopback_only(self, on: bool) -> None:
        """Keep a private instance on 127.0.0.1 (what Ray does on macOS): the variable for the
        processes Ray starts, the constant for this process (Ray may be imported already)."""
        constants = getattr(getattr(self.ray, "_private", None), "ray_constants", None)
        if on:
            self._restore = (
                os.environ.get(LOOPBACK_ENV),
                getattr(constants, "ENABLE_RAY_CLUSTER", None),
            )
            os.environ[LOOPBACK_ENV] = "0"
            if constants is not None:
                constants.ENABLE_RAY_CLUSTER = False
        elif self._restore is not None:
            env, constant = self._restore
            if env is None:
                os.environ.pop(LOOPBACK_ENV, None)
            else:
                os.environ[LOOPBACK_ENV] = env
            if constants is not None and constant is not None:
                constants.ENABLE_RAY_CLUSTER = constant
            self._restore = None

    def _cleanup_temp(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def close(self) -> None:
        """Drop the runners and disconnect; a private instance is stopped and its files removed."""
        ray = self.ray
        if ray.is_initialized():
            alive = [s for s in self._slots.values() if s.alive and s.ping is None]
            closing_refs = []
            for slot in alive:
                try:
                    closing_refs.append(slot.handle.close.remote())
                except Exception:  # its node is gone already
                    pass
            if closing_refs:  # runners release their nodes' sandboxes (bounded wait)
                ray.wait(closing_refs, num_returns=len(closing_refs), timeout=CLOSE_WAIT_S)
            for handle in [*(s.handle for s in self._slots.values() if s.alive), *self._shared]:
                try:
                    ray.kill(handle, no_restart=True)
                except Exception:  # its node is gone already
                    pass
            self._slots.clear()
            self._shared.clear()
            ray.shutdown()
        self._loopback_only(False)
        self._cleanup_temp()


def per_node_in_flight(total: int, nodes: int) -> int:
    """Units in flight per node when ``total`` are spread over ``nodes`` (for docs and bench)."""
    return max(1, math.ceil(total / max(1, nodes)))
