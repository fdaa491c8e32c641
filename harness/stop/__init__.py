"""The STOP engine (DESIGN.md §6): improver runs, meta-utility, the loop, transfer, reports.

Public API (imported lazily, so importing one engine module does not import them all)::

    Engine, UtilitySpec, Inspection, EngineStats          # harness.stop._engine
    run_improver(engine, improver_src, initial_solution, utility, *, context, iteration,
                 output_kind="solution") -> ImproverRun
    meta_utility(engine, improver_src, tasks, splits, n_tests, *, iteration, purpose)
        -> dict[split, MetaScore]
    run_loop(engine, tasks, *, iterations, n_tests, ...) -> list[IterationResult]
    run_transfer(engine, improver_src, tasks, *, repeats, seed_improver) -> list[dict]
    execute_run(store, config, policy, ...) / execute_transfer(...) / run_config(...)
    build_report(store) -> dict / write_report(store) -> dict
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Engine": "stopbox.harness.stop._engine",
    "UtilitySpec": "stopbox.harness.stop._types",
    "Inspection": "stopbox.harness.stop._types",
    "EngineStats": "stopbox.harness.stop._types",
    "ImproverRun": "stopbox.harness.stop.improver",
    "run_improver": "stopbox.harness.stop.improver",
    "MetaScore": "stopbox.harness.stop.meta",
    "meta_utility": "stopbox.harness.stop.meta",
    "IterationResult": "stopbox.harness.stop.loop",
    "run_loop": "stopbox.harness.stop.loop",
    "run_transfer": "stopbox.harness.stop.transfer",
    "execute_run": "stopbox.harness.stop.session",
    "execute_transfer": "stopbox.harness.stop.session",
    "run_config": "stopbox.harness.stop.session",
    "build_report": "stopbox.harness.reporting.run_data",
    "write_report": "stopbox.harness.reporting.run_data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stopbox.harness.stop' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
