"""``stopbox audit --execute``: run each audited file in the sandbox (the command layer's job;
``detectors/`` only reads text and events).

A file that defines ``improve_algorithm`` (or ``algorithm``) is *driven* through the brokered
interface by :func:`stopbox.harness.probe.probe_program`; any other file runs as a script.  Each
report gets its sandbox result, runtime findings and probe summary beside its static findings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stopbox.detectors._audit import FileReport

__all__ = ["execute_reports"]


def execute_reports(
    reports: list[FileReport], sources: dict[str, str], policy: Any, backend: str
) -> list[FileReport]:
    """Probe each decodable file in one started sandbox; undecodable files never run."""
    from stopbox.harness.probe import probe_program, probe_sandbox

    out: list[FileReport] = []
    with probe_sandbox(policy, backend) as sandbox:
        for report in reports:
            source = sources.get(report.path)
            if source is None:  # undecodable: never run
                out.append(report)
                continue
            probe = probe_program(source, report.path, policy, backend, sandbox=sandbox)
            out.append(
                replace(
                    report,
                    result=probe.exec_result,
                    runtime=tuple(probe.runtime_findings),
                    probe=probe.to_json(),
                )
            )
    return out
