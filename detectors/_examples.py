"""VALID / INVALID examples parsed from a rule's docstring (they are the rule's tests)."""

from __future__ import annotations

import textwrap

from stopbox.detectors._types import RuleInfo

__all__ = ["rule_examples"]


def rule_examples(info: RuleInfo) -> tuple[list[str], list[str]]:
    """(valid, invalid) example sources.  A section starts with ``VALID:`` or ``INVALID:`` on its
    own line, holds indented examples separated by ``--`` lines, and ends at a blank line."""
    valid: list[str] = []
    invalid: list[str] = []
    for block in info.doc.split("\n\n"):
        head, _, body = block.partition("\n")
        target = {"VALID:": valid, "INVALID:": invalid}.get(head.strip())
        if target is None:
            continue
        for chunk in body.split("\n--\n"):
            text = textwrap.dedent(chunk).strip("\n")
            if text:
                target.append(text + "\n")
    return valid, invalid
