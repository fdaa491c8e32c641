"""SARIF of a run's programs, checked against what GitHub code scanning requires."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stopbox.harness.reporting import render_report


def _check_github_shape(doc: dict[str, Any]) -> None:
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "stopbox"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids and len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert result["level"] in {"note", "warning", "error"}
        (loc,) = result["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"]
        assert not phys["artifactLocation"]["uri"].startswith("/")
        assert phys["region"]["startLine"] >= 1


def test_run_sarif_has_every_programs_findings(report: dict[str, Any], run_dir: Path) -> None:
    doc = json.loads(render_report(report, "sarif", run_dir))
    _check_github_shape(doc)
    got = sorted(
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in doc["runs"][0]["results"]
    )
    assert got == [("IMP001", 1), ("PRC001", 12), ("RUN002", 1), ("SBX001", 10)]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in doc["runs"][0]["results"]}  # fmt: skip
    assert all(u.startswith("programs/") and u.endswith(".py") for u in uris)


def test_runtime_findings_keep_their_rule(report: dict[str, Any]) -> None:
    report["programs"][0]["runtime"] = [
        {"rule_id": "RUN001", "category": "sandbox-bypass", "severity": "critical",
         "message": "utility() was called with use_sandbox=False", "source": "runtime"}
    ]  # fmt: skip
    doc = json.loads(render_report(report, "sarif"))
    _check_github_shape(doc)
    run001 = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "RUN001"]
    assert len(run001) == 1 and run001[0]["properties"]["source"] == "runtime"


def test_no_pseudo_rule_is_mapped_back(report: dict[str, Any]) -> None:
    """The engine no longer synthesises ``broker.use_sandbox``; an unknown id is not renamed."""
    report["programs"][0]["runtime"] = [
        {"rule_id": "broker.use_sandbox", "category": "sandbox-bypass", "severity": "critical",
         "message": "legacy", "source": "runtime"}
    ]  # fmt: skip
    doc = json.loads(render_report(report, "sarif"))
    assert "RUN001" not in {r["ruleId"] for r in doc["runs"][0]["results"]}


def test_run_without_programs_is_an_empty_valid_log() -> None:
    doc = json.loads(render_report({"run": {"id": "x"}}, "sarif"))
    _check_github_shape(doc)
    assert doc["runs"][0]["results"] == []
