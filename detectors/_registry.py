"""The rule registry: ``@rule(...)`` registers a rule class by id.

A static rule is a class with handler methods named after libcst node types,
``visit_<Node>(self, node, ctx)`` and ``leave_<Node>(self, node, ctx)``; the core runs every
handler of every rule in one combined pass over the tree.  The class docstring is the rule's
documentation: first line a summary, then rationale and ``VALID:`` / ``INVALID:`` examples (each
example is a block indented under the marker, separated by blank lines; they are tests).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from stopbox.detectors._types import Category, Confidence, RuleInfo, Severity

__all__ = ["Rule", "rule", "static_rules", "rule_by_id", "register_info", "registered_infos"]


class Rule:
    """Base class of static rules (handlers are looked up by name, see module doc)."""

    info: ClassVar[RuleInfo]

    def finish(self, ctx: Any) -> None:
        """Called once after the pass (for rules that collect facts first)."""


R = TypeVar("R", bound=type[Rule])
_STATIC: dict[str, Rule] = {}
_INFOS: dict[str, RuleInfo] = {}


def register_info(info: RuleInfo) -> None:
    if info.id in _INFOS:
        raise ValueError(f"duplicate rule id {info.id}")
    _INFOS[info.id] = info


def rule(
    id: str,
    name: str,
    category: Category,
    severity: Severity,
    confidence: Confidence,
) -> Callable[[R], R]:
    """Class decorator: register a static rule under a stable id."""

    def register(cls: R) -> R:
        doc = inspect.cleandoc(cls.__doc__ or "")
        summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
        info = RuleInfo(id, name, category, severity, confidence, summary, doc, "static")
        cls.info = info
        register_info(info)
        _STATIC[id] = cls()
        return cls

    return register


def static_rules() -> list[Rule]:
    from stopbox.detectors import _load_rules

    _load_rules()
    return [_STATIC[k] for k in sorted(_STATIC)]


def registered_infos() -> list[RuleInfo]:
    from stopbox.detectors import _load_rules

    _load_rules()
    return [_INFOS[k] for k in sorted(_INFOS)]


def rule_by_id(rule_id: str) -> RuleInfo:
    from stopbox.detectors import _load_rules

    _load_rules()
    return _INFOS[rule_id]
