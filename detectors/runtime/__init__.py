"""Runtime rules: sandbox events and violations (docs/contracts.md §1) turned into findings."""

from stopbox.detectors.runtime._rules import RUNTIME_RULES, runtime_findings

__all__ = ["runtime_findings", "RUNTIME_RULES"]
