"""The rule registry: ``@rule(...)`` registers a rule class by id.

A static rule is a class with handler methods named after libcst node types,
``visit_<Node>(self, node, ctx)`` and ``leave_<Node>(self, node, ctx)``; the core runs every
handler of every rule in one combined pass over the tree.  The class docstring is the rule's
documentation: first line a summary, then rationale and ``VALID:`` / ``INVALID:`` examples (each
example is a block indented under the marker, separated by blank lines; they are tests).

Both tables are :class:`stopbox.harness.registry.Registry` instances (the one generic registry,
a leaf), filled lazily: the first lookup imports every rule package, which registers its rules.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from stopbox.detectors._types import Category, Confidence, RuleInfo, Severity
from stopbox.harness.registry import Registry

__all__ = ["Rule", "rule", "static_rules", "rule_by_id", "register_info", "registered_infos"]


class Rule:
    """Base class of static rules (handlers are looked up by name, see module doc)."""

    info: ClassVar[RuleInfo]

    def finish(self, ctx: Any) -> None:
        """Called once after the pass (for rules that collect facts first)."""


R = TypeVar("R", bound=type[Rule])
RULE_PACKAGES = tuple(
    f"stopbox.detectors.{package}"
    for package in (
        "disallowed_import",
        "dynamic_code",
        "evasion",
        "introspection",
        "io",
        "network",
        "process",
        "runtime",
        "sandbox_bypass",
        "tampering",
    )
)
"""Importing these registers every rule (static and runtime)."""
RULES: Registry[RuleInfo] = Registry("rule", builtins=RULE_PACKAGES)
"""Every rule's description by id; its first lookup imports the rule packages."""
STATIC_RULES: Registry[Rule] = Registry("static rule")
"""The static rules' instances by id (filled by the same imports: look up through
:func:`static_rules`, which loads ``RULES`` first, so one loader imports the packages)."""


def register_info(info: RuleInfo) -> None:
    """Register a rule's description under its id (a second rule with the same id is an error)."""
    RULES.register(info.id)(info)


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
        STATIC_RULES.register(id)(cls())
        return cls

    return register


def static_rules() -> list[Rule]:
    """Every static rule (an instance each), sorted by id."""
    RULES.load()
    return [STATIC_RULES.get(k) for k in STATIC_RULES.names()]


def registered_infos() -> list[RuleInfo]:
    """Every rule's description (static and runtime), sorted by id."""
    return [RULES.get(k) for k in RULES.names()]


def rule_by_id(rule_id: str) -> RuleInfo:
    """The rule with this id (a :class:`~stopbox.harness.registry.RegistryError`, a KeyError,
    naming the known ids when there is none)."""
    return RULES.get(rule_id)
