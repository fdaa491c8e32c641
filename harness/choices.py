"""Closed sets of names the commands offer as choices (a leaf: imports only the severity leaf).

``BackendName`` is shared by ``audit --execute``, ``run`` and ``study``; the policy's allowed
``sandbox.backend`` values are the same names.  ``FailOn`` is the one severity type.
"""

from __future__ import annotations

from enum import StrEnum

from stopbox.harness.severity import Severity

__all__ = ["BackendName", "BACKEND_NAMES", "FailOn"]


class BackendName(StrEnum):
    """The sandbox backends (each registered with ``@backend(name)`` in harness/sandbox)."""

    seccomp = "seccomp"
    gvisor = "gvisor"
    docker = "docker"
    none = "none"


BACKEND_NAMES: tuple[str, ...] = tuple(b.value for b in BackendName)

FailOn = Severity
"""``--fail-on``'s choices: the severities (low, medium, high, critical)."""
