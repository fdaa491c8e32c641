"""Baselines: a trusted file of accepted findings, matched by fingerprint (not line numbers).

A fingerprint is ``<hash of rule id, enclosing scope and normalised node text>:<occurrence>``,
so a moved line keeps its fingerprint and stays accepted, while a duplicated one gets a new
occurrence index and is reported.  Format (JSON)::

    {"schema": "stopbox.baseline/1", "rules_version": "...",
     "findings": [{"path", "rule_id", "fingerprint", "line", "message"}, ...]}

Paths are matched as written in the baseline; a finding whose fingerprint is accepted for any
path is accepted when the baseline entry has ``"path": "*"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stopbox.harness.errors import UsageError

if TYPE_CHECKING:
    from stopbox.detectors._audit import FileReport

__all__ = ["read_baseline", "write_baseline", "filter_baseline", "BASELINE_SCHEMA"]

BASELINE_SCHEMA = "stopbox.baseline/1"


def write_baseline(files: list[FileReport], out: str | Path) -> int:
    """Write every static finding of ``files`` as accepted; returns how many."""
    from stopbox.detectors._scan import RULES_VERSION

    entries: list[dict[str, Any]] = []
    for report in files:
        for f in report.findings:
            entries.append(
                {
                    "path": report.path,
                    "rule_id": f.rule_id,
                    "fingerprint": f.fingerprint,
                    "line": f.line,
                    "message": f.message,
                }
            )
    data = {"schema": BASELINE_SCHEMA, "rules_version": RULES_VERSION, "findings": entries}
    try:
        Path(out).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write baseline {out}: {exc}") from None
    return len(entries)


def read_baseline(path: str | Path) -> dict[str, set[str]]:
    """path -> accepted fingerprints (``"*"`` for entries valid for every path)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"baseline {path}: file not found") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"baseline {path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise UsageError(f"baseline {path}: not a {BASELINE_SCHEMA} file")
    accepted: dict[str, set[str]] = {}
    for entry in data.get("findings", []):
        if not isinstance(entry, dict) or not {"path", "fingerprint"} <= entry.keys():
            raise UsageError(f"baseline {path}: malformed entry {entry!r}")
        accepted.setdefault(str(entry["path"]), set()).add(str(entry["fingerprint"]))
    return accepted


def filter_baseline(files: list[FileReport], accepted: dict[str, set[str]]) -> int:
    """Drop accepted static findings from ``files`` in place; returns how many were dropped."""
    from dataclasses import replace

    wildcard = accepted.get("*", set())
    dropped = 0
    for i, report in enumerate(files):
        ok = accepted.get(report.path, set()) | wildcard
        kept = tuple(f for f in report.findings if f.fingerprint not in ok)
        dropped += len(report.findings) - len(kept)
        files[i] = replace(report, findings=kept, baselined=len(report.findings) - len(kept))
    return dropped
