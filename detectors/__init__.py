"""Static (libcst) and runtime detector rules, registered by id.

Public API (docs/contracts.md §2)::

    scan(source, path="<string>", policy=None) -> list[Finding]
    runtime_findings(result, path) -> list[Finding]
    all_rules() -> list[RuleInfo]
"""

from __future__ import annotations

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


def all_rules() -> list[RuleInfo]:
    """Every rule (static and runtime), sorted by id."""
    from stopbox.detectors._registry import registered_infos

    return registered_infos()
