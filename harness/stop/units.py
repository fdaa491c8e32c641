"""Units of work of a run and a transfer, for an executor (``--executor ray``).

A unit is one meta-utility test of an improver (:func:`~stopbox.harness.stop.meta.meta_test`) or
one (task, repeat) of a transfer (:func:`~stopbox.harness.stop.transfer.transfer_item`).  The
driver (:func:`run_units`):

1. looks each unit up in the run's ledger first (the unit's body under
   :meth:`Engine.cache_only`): a unit whose improver runs and evaluations are all recorded is
   answered from the ledger, so a resumed run redoes nothing finished;
2. sends the others to the executor with plain arguments: the run's settings
   (:class:`NodeSpec`), the task's name, the unit's arguments, the LM responses already recorded
   for its improver-run contexts (so a unit cut short replays them), the run-wide LM budget
   (shared: :meth:`Executor.share`) and what is left of the run's wall budget;
3. imports the rows each unit hands back into the run's ledger as it finishes (the driver
   alone writes the ledger; every insert is keyed, so a unit that ran twice counts once), adds
   its counters, and returns the units' values in unit order.

On a node, :func:`node_unit` runs the unit's body against a *scratch* ledger in a temporary
directory (the unit's rows, returned as data, then deleted), that node's own sandbox (one warm
pool per node and policy, started on first use and closed with the node's runner) and LM client.
Untrusted code runs only in that sandbox; the API key reaches the node through the runner's
environment (the job's runtime env), never through a unit's arguments.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from stopbox.harness.errors import StopboxError
from stopbox.harness.executor import Executor, Unit, on_node_close
from stopbox.harness.lm._deadline import current_deadline, lm_deadline
from stopbox.harness.policy import Policy, policy_from_dict
from stopbox.harness.sandbox._base import Sandbox
from stopbox.harness.stop._engine import Engine, NotCached, TaskLike
from stopbox.harness.stop._lm_access import RunBudget
from stopbox.harness.store import RunStore

__all__ = ["NodeSpec", "TaskUnit", "UnitOutput", "attach", "run_units", "node_unit", "local_node"]

log = structlog.get_logger("stopbox.units")

UnitBody = Callable[..., Any]
"""``body(engine, task, *args)``: a module-level function (pickled by reference)."""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What a node needs to build its engine for the run's units (plain, picklable data)."""

    policy: dict[str, Any]
    lm_spec: str
    seed: int
    max_concurrency: int
    pool_size: int
    cwd: str = ""
    """The driver's working directory: a relative ``replay:`` cassette path is read from there
    (a Ray worker's own working directory is its session directory)."""


@dataclass(frozen=True, slots=True)
class TaskUnit:
    """One unit as the engine describes it: a stable id, its task, the body's arguments."""

    id: str
    task: str
    args: tuple[Any, ...]
    contexts: tuple[str, ...] = ()
    """Improver-run contexts of the unit (their recorded LM responses travel with it)."""


@dataclass(slots=True)
class UnitOutput:
    """What a unit hands back: its value, the rows it wrote, its counters, its failure."""

    value: Any
    rows: dict[str, Any]
    stats: dict[str, float]
    error: BaseException | None = None


def node_spec(engine: Engine) -> NodeSpec:
    return NodeSpec(
        policy=engine.policy.to_dict(),
        lm_spec=engine.lm_spec,
        seed=engine.seed,
        max_concurrency=engine.max_concurrency,
        pool_size=engine.sandbox_pool_size,
        cwd=os.getcwd(),
    )


def _lm_factory(spec: NodeSpec) -> Callable[[str, int], Any] | None:
    """The node's LM factory: the default one, but a relative cassette path of ``replay:`` is
    resolved against the driver's working directory (the spec itself, which keys the LM cache,
    stays as the driver recorded it)."""
    backend, _, argument = spec.lm_spec.partition(":")
    if backend != "replay" or not argument.strip() or os.path.isabs(argument.strip()):
        return None
    from stopbox.harness.lm import get_lm

    cassette = os.path.join(spec.cwd, argument.strip())
    return lambda _spec, seed: get_lm(f"replay:{cassette}", seed=seed)


# -- the node's side ------------------------------------------------------------------------------

_NODE_LOCK = threading.Lock()
_SANDBOXES: dict[str, Sandbox] = {}
_LENT: dict[str, Engine] = {}
"""Driver engines by sandbox key: units run in the driver's process use its sandbox, LM
factory and scanners (tests inject fakes there)."""
_TASKS: dict[str, TaskLike] = {}
_LM_SLOTS: dict[int, threading.BoundedSemaphore] = {}


def _sandbox_key(policy: Policy) -> str:
    from stopbox.harness.store import stable_key

    return stable_key(policy.sandbox.backend, policy.to_dict())


@contextmanager
def local_node(engine: Engine, tasks: Sequence[TaskLike]) -> Iterator[None]:
    """Units run in this process (a local executor) use the driver engine's sandbox, LM factory,
    scanners and tasks instead of starting or loading their own."""
    key = _sandbox_key(engine.policy)
    with _NODE_LOCK:
        _LENT[key] = engine
        for task in tasks:
            _TASKS[task.name] = task
    try:
        yield
    finally:
        with _NODE_LOCK:
            if _LENT.get(key) is engine:
                del _LENT[key]
            for task in tasks:
                _TASKS.pop(task.name, None)


def _lent(policy: Policy) -> Engine | None:
    with _NODE_LOCK:
        return _LENT.get(_sandbox_key(policy))


def _close_node() -> None:
    with _NODE_LOCK:
        sandboxes = list(_SANDBOXES.values())
        _SANDBOXES.clear()
    for sandbox in sandboxes:
        sandbox.close()


def _node_sandbox(policy: Policy, pool_size: int) -> Sandbox:
    """This node's sandbox for ``policy``: lent by the driver, or started once and kept warm
    until the node's runner closes."""
    from stopbox.harness.sandbox._base import get_backend

    key = _sandbox_key(policy)
    with _NODE_LOCK:
        driver = _LENT.get(key)
        if driver is not None:
            return driver.sandbox
        if key in _SANDBOXES:
            return _SANDBOXES[key]
        sandbox = get_backend(policy.sandbox.backend, policy, pool_size=pool_size or None)
        try:
            sandbox.start()
        except BaseException:
            sandbox.close()
            raise
        if not _SANDBOXES:
            on_node_close(_close_node)
        _SANDBOXES[key] = sandbox
        return sandbox


def _node_task(name: str) -> TaskLike:
    with _NODE_LOCK:
        task = _TASKS.get(name)
    if task is not None:
        return task
    from stopbox.harness.tasks import load_task

    loaded: Any = load_task(name)  # a Task is a TaskLike (read-only attributes)
    with _NODE_LOCK:
        return _TASKS.setdefault(name, loaded)


def _node_slots(limit: int) -> threading.BoundedSemaphore | None:
    """LM requests in flight on this node, shared by all its units (``--max-concurrency``)."""
    if limit <= 0:
        return None
    with _NODE_LOCK:
        return _LM_SLOTS.setdefault(limit, threading.BoundedSemaphore(limit))


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return StopboxError(f"{type(exc).__name__}: {exc}")


def node_unit(
    spec: NodeSpec,
    body: UnitBody,
    task_name: str,
    args: tuple[Any, ...],
    budget: Any,
    deadline: tuple[float, str] | None,
    preload: Mapping[str, Any] | None,
) -> UnitOutput:
    """Run one unit on this node against a scratch ledger; hand its rows back as data.

    ``budget``: the run-wide LM budget (``check()`` / ``charge(response)``), shared with the
    driver; ``deadline``: (seconds left, what) of the run's wall budget."""
    policy = policy_from_dict(spec.policy, file="<unit policy>")
    with tempfile.TemporaryDirectory(prefix="stopbox-unit-") as tmp:
        store = RunStore(Path(tmp), create=True)
        try:
            if preload:
                store.import_rows(preload)
            driver = _lent(policy)
            engine = Engine(
                store=store,
                sandbox=_node_sandbox(policy, spec.pool_size),
                policy=policy,
                lm_spec=spec.lm_spec,
                seed=spec.seed,
                jobs=1,
                max_concurrency=spec.max_concurrency,
                lm_factory=_lm_factory(spec) if driver is None else driver._lm_factory,
                scanner=None if driver is None else driver._scanner,
                runtime_scanner=None if driver is None else driver._runtime_scanner,
            )
            engine._lm_slots = _node_slots(spec.max_concurrency)
            if budget is not None:
                engine.run_budget = budget
            value: Any = None
            error: BaseException | None = None
            try:
                seconds, what = deadline if deadline is not None else (None, "")
                with lm_deadline(seconds, what):
                    value = body(engine, _node_task(task_name), *args)
            except Exception as exc:  # handed to the driver, which stops the run as locally
                error = _picklable(exc)
            finally:
                engine.close()
            rows = store.export_rows()
        finally:
            store.close()
    return UnitOutput(value, rows, engine.stats.to_json(), error)


# -- the driver's side ----------------------------------------------------------------------------


def attach(engine: Engine, executor: Executor) -> None:
    """Send ``engine``'s meta-utility tests and transfer items to ``executor`` from now on; a
    run-wide LM budget becomes one object shared by the driver and every unit."""
    budget = engine.run_budget
    if isinstance(budget, RunBudget) and (budget.calls or budget.tokens or budget.dollars):
        engine.run_budget = executor.share(budget)
    engine.executor = executor


def _shared_budget(engine: Engine) -> Any:
    """The run-wide budget every unit charges (None when the policy sets no run-wide limit)."""
    budget = engine.run_budget
    if isinstance(budget, RunBudget):
        if budget.calls or budget.tokens or budget.dollars:  # in this process: the object
            return budget
        return None
    return budget


def _deadline() -> tuple[float, str] | None:
    deadline = current_deadline()
    return None if deadline is None else (max(0.001, deadline.remaining()), deadline.what)


def run_units(
    engine: Engine,
    body: UnitBody,
    tasks: Mapping[str, TaskLike],
    units: Sequence[TaskUnit],
) -> list[Any]:
    """The values of ``body(engine, task, *args)`` for every unit, in unit order (see the module
    docstring); the first unit's failure is raised once every unit's rows are in the ledger."""
    executor = engine.executor
    if executor is None:
        raise RuntimeError("run_units needs an engine with an executor")
    values: dict[str, Any] = {}
    pending: list[TaskUnit] = []
    for unit in units:
        try:
            with engine.cache_only():
                values[unit.id] = body(engine, tasks[unit.task], *unit.args)
        except NotCached:
            pending.append(unit)
    if pending:
        spec, budget, deadline = node_spec(engine), _shared_budget(engine), _deadline()
        work = []
        for unit in pending:
            preload: dict[str, Any] = {"tables": {"lm_calls": []}, "sources": {}}
            for context in unit.contexts:
                preload["tables"]["lm_calls"] += engine.store.lm_call_rows(context)["tables"][
                    "lm_calls"
                ]
            args = (spec, body, unit.task, unit.args, budget, deadline, preload)
            work.append(Unit(unit.id, args))
        first_error: BaseException | None = None
        with closing(executor.run(node_unit, work)) as results:
            for result in results:
                if result.error is not None:  # the machinery around the unit failed
                    first_error = first_error or StopboxError(
                        f"unit {result.id} failed on {result.node}: {result.error}"
                    )
                    continue
                out: UnitOutput = result.value
                engine.store.import_rows(out.rows)
                engine.stats.add(**{k: v for k, v in out.stats.items() if v})
                log.info("unit_done", unit=result.id, node=result.node, tries=result.tries,
                         error=None if out.error is None else str(out.error))  # fmt: skip
                if out.error is not None:
                    first_error = first_error or out.error
                else:
                    values[result.id] = out.value
                engine._progress()
        if first_error is not None:
            if not isinstance(first_error, NotCached):
                engine.fatal = engine.fatal or first_error
            raise first_error
    return [values[unit.id] for unit in units]
