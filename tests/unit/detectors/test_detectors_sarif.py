"""SARIF 2.1.0 as GitHub code scanning expects it."""

from __future__ import annotations

import json

from stopbox import detectors
from stopbox.detectors import FileReport
from stopbox.harness.reporting.sarif import render_sarif

SOURCE = "import os\nutility(s, use_sandbox=False)\n"


def test_sarif_document_shape() -> None:
    report = FileReport("pkg/cand.py", tuple(detectors.scan(SOURCE, "pkg/cand.py")))
    doc = json.loads(render_sarif([report]))
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    [run] = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "stopbox" and driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [r.id for r in detectors.all_rules()]
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        assert float(rule["properties"]["security-severity"]) > 0
        assert rule["properties"]["tags"]
    results = run["results"]
    assert {r["ruleId"] for r in results} == {"IMP001", "SBX001"}
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] == "error" and r["message"]["text"]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "pkg/cand.py"
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert r["partialFingerprints"]["stopbox/v1"]


def test_absolute_and_dot_paths_become_relative_uris() -> None:
    findings = tuple(detectors.scan(SOURCE))
    doc = json.loads(
        render_sarif([FileReport("./a/b.py", findings), FileReport("/abs/c.py", findings)])
    )
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
    }
    assert uris == {"a/b.py", "abs/c.py"}


def test_runtime_findings_get_line_one() -> None:
    runtime = detectors.runtime_findings(
        type("R", (), {"events": ({"kind": "audit", "event": "socket.connect", "args": []},),
                       "violations": ()})(),
        "x.py",
    )  # fmt: skip
    doc = json.loads(render_sarif([FileReport("x.py", (), tuple(runtime))]))
    [res] = doc["runs"][0]["results"]
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
