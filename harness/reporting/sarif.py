"""SARIF 2.1.0 for GitHub code scanning: one run, stopbox as the tool, every rule described.

``render_sarif(files)`` takes :class:`detectors.FileReport` values (the audit's, or a run's
programs wrapped as FileReports) and returns the SARIF document as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from stopbox.detectors import FileReport, Finding, RuleInfo, Severity, all_rules

__all__ = [
    "render_sarif",
    "sarif_document",
    "SARIF_SCHEMA",
    "STDIN",
    "LEVELS",
    "SECURITY_SEVERITY",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
STDIN = "<stdin>"
"""How an audit of standard input (`stopbox audit -`) names its one file."""
INFORMATION_URI = "https://github.com/stopbox/stopbox"
LEVELS = {
    Severity.LOW: "note",
    Severity.MEDIUM: "warning",
    Severity.HIGH: "error",
    Severity.CRITICAL: "error",
}
SECURITY_SEVERITY = {
    Severity.LOW: "2.0",
    Severity.MEDIUM: "5.0",
    Severity.HIGH: "8.0",
    Severity.CRITICAL: "9.5",
}


def _rule_descriptor(info: RuleInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "fullDescription": {
            "text": info.doc.split("\n\n")[1] if "\n\n" in info.doc else info.summary
        },
        "help": {"text": info.doc, "markdown": _help_markdown(info)},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {
            "tags": ["security", "stopbox", info.category.value, info.source],
            "security-severity": SECURITY_SEVERITY[info.severity],
            "precision": {"high": "high", "medium": "medium", "low": "low"}[info.confidence.value],
        },
    }


def _help_markdown(info: RuleInfo) -> str:
    lines = [f"**{info.id} {info.name}** ({info.category.value}, {info.severity.value})", ""]
    for block in info.doc.split("\n\n"):
        if block.startswith(("VALID:", "INVALID:")):
            head, _, body = block.partition("\n")
            lines += [f"*{head[:-1]}*", "", "```python", body.replace("    ", "", 1), "```", ""]
        else:
            lines += [block, ""]
    return "\n".join(lines).strip()


def _uri(path: str) -> str:
    if path == STDIN:
        return "stdin"
    posix = PurePosixPath(path.replace("\\", "/"))
    text = str(posix)
    return text[2:] if text.startswith("./") else text.lstrip("/") if posix.is_absolute() else text


def _result(finding: Finding, path: str, index: dict[str, int]) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": max(finding.line, 1), "startColumn": max(finding.col, 1)}
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"stopbox/v1": finding.fingerprint},
        "properties": {
            "category": finding.category.value,
            "severity": finding.severity.value,
            "confidence": finding.confidence.value,
            "source": finding.source,
        },
    }
    if finding.snippet:
        region_with_snippet = result["locations"][0]["physicalLocation"]["region"]
        region_with_snippet["snippet"] = {"text": finding.snippet}
    return result


def sarif_document(
    files: Sequence[FileReport],
    *,
    version: str | None = None,
    automation_id: str = "stopbox/audit/",
    invocation: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The SARIF 2.1.0 log.  ``automation_id`` is ``runs[0].automationDetails.id`` (GitHub code
    scanning keeps one analysis per id; a trailing ``/`` makes it a category).  ``invocation``
    adds ``runs[0].invocations[0]`` (``executionSuccessful`` defaults to true): the audit records
    there every loosening its configuration applied."""
    from stopbox.harness import __version__

    rules = all_rules()
    index = {info.id: i for i, info in enumerate(rules)}
    results = [
        _result(f, report.path, index)
        for report in files
        for f in (*report.findings, *report.runtime)
    ]
    artifacts = [{"location": {"uri": _uri(r.path), "uriBaseId": "%SRCROOT%"}} for r in files]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "stopbox",
                "version": version or __version__,
                "semanticVersion": version or __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule_descriptor(info) for info in rules],
            }
        },
        "automationDetails": {"id": automation_id},
        "artifacts": artifacts,
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if invocation is not None:
        run["invocations"] = [{"executionSuccessful": True, **invocation}]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(
    files: Sequence[FileReport],
    *,
    automation_id: str = "stopbox/audit/",
    invocation: Mapping[str, Any] | None = None,
) -> str:
    """SARIF 2.1.0 text for the static and runtime findings of ``files``."""
    doc = sarif_document(files, automation_id=automation_id, invocation=invocation)
    return json.dumps(doc, indent=2) + "\n"
