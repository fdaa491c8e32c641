"""`stopbox audit --format github`: GitHub Actions workflow commands, one annotation per finding.

Each finding becomes ``::error file=PATH,line=L,col=C,title=RULE name::message`` (``error`` for
high and critical, ``warning`` for medium, ``notice`` for low); the job log shows them and the
pull request's diff marks the lines.  A last plain line sums up.  Values are escaped as the
runner expects (``%``, CR, LF everywhere; ``:`` and ``,`` in properties too).
"""

from __future__ import annotations

from collections.abc import Sequence

from stopbox.detectors import FileReport, Severity
from stopbox.harness.severity import at_least

__all__ = ["render_github", "ANNOTATION_LEVELS"]

ANNOTATION_LEVELS = {
    Severity.LOW: "notice",
    Severity.MEDIUM: "warning",
    Severity.HIGH: "error",
    Severity.CRITICAL: "error",
}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(files: Sequence[FileReport], fail_on: str, *, notices: Sequence[str] = ()) -> str:
    """Workflow-command lines for every static and runtime finding of ``files``; each of
    ``notices`` (the loosenings a configuration applied) is a warning of its own first."""
    lines = [f"::warning title=stopbox configuration::{_data(text)}" for text in notices]
    failing = total = 0
    for report in files:
        for f in (*report.findings, *report.runtime):
            total += 1
            failing += at_least(f.severity, fail_on)
            props = [f"file={_prop(report.path)}"]
            if f.source == "static":
                props += [f"line={max(f.line, 1)}", f"col={max(f.col, 1)}"]
            props.append(f"title={_prop(f'{f.rule_id} {f.name} ({f.severity.value})')}")
            message = f"[{f.category.value}] {f.message}"
            lines.append(f"::{ANNOTATION_LEVELS[f.severity]} {','.join(props)}::{_data(message)}")
    lines.append(
        f"stopbox: {len(files)} file(s), {total} finding(s), {failing} at or above {fail_on}"
    )
    return "\n".join(lines) + "\n"
