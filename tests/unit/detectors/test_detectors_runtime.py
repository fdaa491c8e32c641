"""Runtime rules: sandbox events and violations (docs/contracts.md §1) become findings; the
audit cross-checks them against static findings."""

from __future__ import annotations

from typing import Any

import pytest

from stopbox import detectors
from stopbox.detectors import Category, FileReport, Severity, cross_check, runtime_findings
from stopbox.harness.sandbox import ExecResult, Status


def result(events: list[dict[str, Any]] = [], violations: list[dict[str, Any]] = []) -> ExecResult:  # noqa: B006
    return ExecResult(Status.VIOLATION, events=tuple(events), violations=tuple(violations))


@pytest.mark.parametrize(
    ("entry", "where", "rule", "category", "severity"),
    [
        ({"kind": "broker", "event": "use_sandbox", "value": "False", "literal_true": False},
         "events", "RUN001", Category.SANDBOX_BYPASS, Severity.CRITICAL),
        ({"kind": "audit", "event": "import", "args": ["socket"]},
         "events", "RUN002", Category.DISALLOWED_IMPORT, Severity.HIGH),
        ({"kind": "audit", "event": "open", "args": ["'x.txt'", "'w'", "577"]},
         "events", "RUN003", Category.IO, Severity.MEDIUM),
        ({"kind": "audit", "event": "socket.connect", "args": ["('1.2.3.4', 80)"]},
         "events", "RUN004", Category.NETWORK, Severity.HIGH),
        ({"kind": "audit", "event": "subprocess.Popen", "args": ["'id'"]},
         "events", "RUN005", Category.PROCESS, Severity.CRITICAL),
        ({"kind": "audit", "event": "exec", "args": ["<code>"]},
         "events", "RUN006", Category.DYNAMIC_CODE, Severity.MEDIUM),
        ({"kind": "audit", "event": "ctypes.dlopen", "args": ["None"]},
         "events", "RUN007", Category.INTROSPECTION_ESCAPE, Severity.CRITICAL),
        ({"kind": "broker", "event": "setattr", "obj": "utility", "attr": "budget"},
         "events", "RUN008", Category.TAMPERING, Severity.CRITICAL),
        ({"kind": "broker", "event": "budget_exceeded", "budget": "lm_calls"},
         "events", "RUN009", Category.TAMPERING, Severity.MEDIUM),
        ({"kind": "seccomp", "detail": "socket denied", "syscall": "socket"},
         "violations", "RUN010", Category.NETWORK, Severity.HIGH),
        ({"kind": "seccomp", "detail": "fork denied", "syscall": "fork"},
         "violations", "RUN010", Category.PROCESS, Severity.HIGH),
        ({"kind": "landlock", "detail": "open /etc/passwd denied"},
         "violations", "RUN010", Category.IO, Severity.HIGH),
        ({"kind": "rlimit", "detail": "cpu limit", "limit": "cpu"},
         "violations", "RUN011", Category.PROCESS, Severity.LOW),
        ({"kind": "protocol", "detail": "forged frame"},
         "violations", "RUN012", Category.TAMPERING, Severity.CRITICAL),
    ],
)  # fmt: skip
def test_each_event_kind_maps_to_its_rule(
    entry: dict[str, Any], where: str, rule: str, category: Category, severity: Severity
) -> None:
    res = result(events=[entry]) if where == "events" else result(violations=[entry])
    [finding] = runtime_findings(res, "cand.py")
    assert (finding.rule_id, finding.category, finding.severity) == (rule, category, severity)
    assert finding.source == "runtime" and finding.line == 0


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "broker", "event": "use_sandbox", "value": "True", "literal_true": True},
        {"kind": "audit", "event": "open", "args": ["'data.txt'", "'r'", "524288"]},
        {"kind": "sandbox", "event": "layers", "seccomp": True},
    ],
)
def test_benign_events_make_no_findings(entry: dict[str, Any]) -> None:
    assert runtime_findings(result(events=[entry]), "cand.py") == []


def test_repeated_events_get_distinct_fingerprints() -> None:
    event = {"kind": "audit", "event": "socket.connect", "args": ["x"]}
    found = runtime_findings(result(events=[event, event]), "c.py")
    assert len(found) == 2 and found[0].fingerprint != found[1].fingerprint


def test_runtime_rules_are_listed() -> None:
    runtime = [r for r in detectors.all_rules() if r.source == "runtime"]
    assert [r.id for r in runtime] == [f"RUN{i:03d}" for i in range(1, 13)]


def test_cross_check_counts_per_file_and_category() -> None:
    static = detectors.scan("import os\nos.system('id')\n")
    runtime = runtime_findings(
        result(
            events=[{"kind": "audit", "event": "os.system", "args": ["id"]}],
            violations=[{"kind": "seccomp", "detail": "socket", "syscall": "socket"}],
        ),
        "a.py",
    )
    cc = cross_check([FileReport("a.py", tuple(static), tuple(runtime))])
    assert (cc["flagged_not_attempted"], cc["attempted_not_flagged"], cc["both"]) == (1, 1, 1)
    kinds = {(p["category"], p["kind"]) for p in cc["pairs"]}
    assert kinds == {
        ("disallowed-import", "flagged_not_attempted"),
        ("network", "attempted_not_flagged"),
        ("process", "both"),
    }
