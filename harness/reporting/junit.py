"""`stopbox audit --format junit`: JUnit XML, one test case per audited file.

CI systems that read test reports (GitLab, Jenkins, Azure Pipelines) show a file with findings
at or above ``--fail-on`` as a failed test whose text lists the findings; findings below the
threshold are listed in the case's ``system-out``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from stopbox.detectors import FileReport, Finding
from stopbox.harness.severity import at_least

__all__ = ["render_junit"]


def _line(f: Finding) -> str:
    where = f"{f.line}:{f.col}" if f.source == "static" else "runtime"
    return f"{where} {f.severity.value} {f.rule_id} {f.name} [{f.category.value}] {f.message}"


def render_junit(files: Sequence[FileReport], fail_on: str) -> str:
    """The JUnit XML document (one ``testsuite`` named ``stopbox audit``)."""
    suites = ET.Element("testsuites", name="stopbox")
    suite = ET.SubElement(suites, "testsuite", name="stopbox audit")
    failures = 0
    for report in files:
        found = (*report.findings, *report.runtime)
        case = ET.SubElement(
            suite, "testcase", classname="stopbox.audit", name=report.path, file=report.path
        )
        blocking = [f for f in found if at_least(f.severity, fail_on)]
        if blocking:
            failures += 1
            worst = max(blocking, key=lambda f: f.severity.rank)
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(blocking)} finding(s) at or above {fail_on}",
                type=worst.rule_id,
            )
            failure.text = "\n".join(_line(f) for f in blocking)
        rest = [f for f in found if not at_least(f.severity, fail_on)]
        if rest:
            ET.SubElement(case, "system-out").text = "\n".join(_line(f) for f in rest)
    for element in (suites, suite):
        element.set("tests", str(len(files)))
        element.set("failures", str(failures))
        element.set("errors", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
