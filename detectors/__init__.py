"""Static (libcst) and runtime detector rules, registered by id.

Public API (docs/contracts.md §2)::

    scan(source, path="<string>", policy=None) -> list[Finding]
    runtime_findings(result, path) -> list[Finding]
    all_rules() -> list[RuleInfo]
"""

from __future__ import annotations

import threading

from stopbox.detectors._audit import FileReport, audit_paths, cross_check, summarise
from stopbox.detectors._baseline import filter_baseline, read_baseline, write_baseline
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._scan import RULES_VERSION, scan
from stopbox.detectors._types import CATEGORIES, Category, Confidence, Finding, RuleInfo, Severity
from stopbox.detectors.runtime import runtime_findings

__all__ = [
    "scan",
    "runtime_findings",
    "all_rules",
    "Finding",
    "RuleInfo",
    "Severity",
    "Confidence",
    "Category",
    "CATEGORIES",
    "Rule",
    "rule",
    "RULES_VERSION",
    "FileReport",
    "audit_paths",
    "summarise",
    "cross_check",
    "read_baseline",
    "write_baseline",
    "filter_baseline",
]

_LOADED = False
_LOAD_LOCK = threading.Lock()


def _load_rules() -> None:
    """Import every rule package once (importing registers the rules).

    Thread-safe: the engine scans from several threads, and a thread must never see a registry
    that another thread is still filling (the flag is set only after every package loaded).
    """
    global _LOADED
    if _LOADED:
        return
    with _LOAD_LOCK:
        if _LOADED:
            return
        from stopbox.detectors import (  # noqa: F401
            disallowed_import,
            dynamic_code,
            evasion,
            introspection,
            io,
            network,
            process,
            runtime,
            sandbox_bypass,
            tampering,
        )

        _LOADED = True


def all_rules() -> list[RuleInfo]:
    """Every rule (static and runtime), sorted by id."""
    from stopbox.detectors._registry import registered_infos

    return registered_infos()
