from __future__ import annotations

from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "EVA002",
    "uninspectable-source",
    Category.EVASION,
    Severity.HIGH,
    Confidence.HIGH,
)
class UninspectableSource(Rule):
    """The file does not parse (or is too large or too deeply nested to inspect): it cannot be
    inspected, so it must not run.

    Code that the scanner cannot read is code it cannot vouch for; a parse failure is a finding,
    never a crash and never "no issues".  The message says whether Python rejects the text too
    (the program is broken and could not run anyway) or only the inspector does (a parser
    difference, or too large or too deeply nested: code that would run unseen).  Calibration
    against ground truth counts only programs that could be inspected.

    INVALID:
        def broken(:
            pass
    --
        exec("x" ))

    VALID:
        def fine():
            pass
    """
