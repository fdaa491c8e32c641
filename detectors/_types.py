"""Value types of the detectors: severities, confidences, categories, rules and findings.

:class:`Severity` is the one severity type of stopbox (``stopbox.harness.severity``, a leaf),
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from stopbox.harness.severity import SEVERITY_ORDER, Severity

__all__ = ["Severity", "Confidence", "Category", "RuleInfo", "Finding", "SEVERITY_ORDER"]


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Category(StrEnum):
    SANDBOX_BYPASS = "sandbox-bypass"
    DISALLOWED_IMPORT = "disallowed-import"
    DYNAMIC_CODE = "dynamic-code"
    INTROSPECTION_ESCAPE = "introspection-escape"
    TAMPERING = "tampering"
    IO = "io"
    NETWORK = "network"
    PROCESS = "process"
    EVASION = "evasion"


CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
"""The nine categories, in the order DESIGN.md §4 lists them."""


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a rule is: its stable id, name, category, default severity and documentation."""

    id: str
    name: str
    category: Category
    severity: Severity
    confidence: Confidence
    summary: str
    """One line: what the rule finds and why it matters."""
    doc: str
    """The full docstring: rationale and VALID / INVALID examples."""
    source: str = "static"
    """``static`` (libcst) or ``runtime`` (sandbox events)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category.value,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "source": self.source,
            "description": self.summary,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found in one program.

    ``line`` and ``col`` are 1-based (0 for runtime findings and whole-file findings without a
    position).  ``fingerprint`` identifies the finding independently of line numbers (rule id,
    enclosing scope, normalised node text, occurrence index) and is what a baseline stores.
    """

    rule_id: str
    name: str
    category: Category
    severity: Severity
    confidence: Confidence
    line: int
    col: int
    message: str
    fingerprint: str
    source: str = "static"
    snippet: str = ""

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md §7 fields."""
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "category": self.category.value,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "line": self.line,
            "col": self.col,
            "message": self.message,
        }

    def to_full_json(self) -> dict[str, Any]:
        """DESIGN.md §7 fields plus ``fingerprint``, ``source`` and ``snippet`` (for caches)."""
        return {
            **self.to_json(),
            "fingerprint": self.fingerprint,
            "source": self.source,
            "snippet": self.snippet,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            rule_id=data["rule_id"],
            name=data["name"],
            category=Category(data["category"]),
            severity=Severity(data["severity"]),
            confidence=Confidence(data["confidence"]),
            line=int(data["line"]),
            col=int(data["col"]),
            message=data["message"],
            fingerprint=data.get("fingerprint", ""),
            source=data.get("source", "static"),
            snippet=data.get("snippet", ""),
        )
