from __future__ import annotations

from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "IO005",
    "interactive-builtin",
    Category.IO,
    Severity.MEDIUM,
    Confidence.HIGH,
)
class InteractiveBuiltin(Rule):
    """An interactive built-in is used: ``input``, ``help``, ``license``/``credits``/``copyright``
    (pagers), ``exit``/``quit``.

    ``input`` reads the terminal (or the worker's stdin); ``help`` and ``license`` page text
    through an external pager program; ``exit``/``quit`` stop the interpreter the improver shares
    with its caller.  Referencing one (``notice = license``) is reported as well as calling it;
    a name the program defines itself (``def help(...)``, a parameter named ``input``) is not.
    (Found by DYN006's pass over names.)

    INVALID:
        answer = input("continue? ")
    --
        notice = license
        notice()
    --
        help(len)

    VALID:
        def help(text):
            return text.upper()
        shout = help("x")
    --
        def size(input):
            return len(input)
    """
