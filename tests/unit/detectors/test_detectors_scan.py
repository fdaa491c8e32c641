"""scan(): never raises, resolves names, follows the policy, caches by content and policy."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from stopbox import detectors
from stopbox.detectors import Category, Severity
from stopbox.detectors._scan import CACHE
from stopbox.harness.policy import ImportsPolicy, Policy, RulesPolicy


def ids(source: str, policy: Policy | None = None) -> list[str]:
    return [f.rule_id for f in detectors.scan(source, policy=policy)]


@pytest.mark.parametrize(
    "source",
    [
        "def f(:\n",
        "\x00\x01 binary junk",
        "(" * 5000 + ")" * 5000,
        "x = 1\n" + "    y = 2\n",
        "print 'python 2'\n",
    ],
    ids=["syntax", "nul", "deep", "indent", "py2"],
)
def test_unparsable_input_is_a_finding_not_an_exception(source: str) -> None:
    findings = detectors.scan(source)
    assert [f.rule_id for f in findings] == ["EVA002"]
    assert findings[0].category is Category.EVASION
    assert findings[0].severity is Severity.HIGH
    # Python rejects every one of these too, and the message says so
    assert "Python rejects it too" in findings[0].message
    assert "must not" in findings[0].message


def test_runnable_but_uninspectable_source_is_high() -> None:
    source = "x = " + "-" * 150 + "1\n"
    compile(source, "<deep>", "exec")  # Python accepts it ...
    findings = detectors.scan(source)  # ... the inspector does not
    assert [(f.rule_id, f.severity) for f in findings] == [("EVA002", Severity.HIGH)]
    assert "must not run" in findings[0].message


def test_too_large_source_is_a_finding() -> None:
    assert ids("x = 1\n" * 400_000) == ["EVA002"]


def test_empty_source_has_no_findings() -> None:
    assert detectors.scan("") == []


def test_positions_are_one_based_and_follow_comments_and_decorators() -> None:
    source = (
        "# header comment\n\n"
        "import math\n"
        "@decorator\n"
        "def f():\n"
        "    # inside\n"
        "    return eval(text)\n"
        "x = 1; import os\n"
    )
    found = {f.rule_id: (f.line, f.col) for f in detectors.scan(source)}
    assert found["DYN001"] == (7, 12)
    assert found["IMP001"] == (8, 15)


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("import os as o\no.system('id')\n", "PRC001"),
        ("from os import system as s\ns('id')\n", "PRC001"),
        ("import subprocess\nrun_cmd = subprocess.run\nrun_cmd(['id'])\n", "PRC001"),
        ("import builtins\nx = builtins.exec\nx(code)\n", "DYN001"),
        ("u = utility\nv = u\nv(s, use_sandbox=False)\n", "SBX001"),
        ("u = utility\nu(s, False)\n", "SBX004"),
        ("from functools import partial as p\np(utility, s, 0)\n", "SBX004"),
    ],
)
def test_names_resolve_through_imports_and_assignments(source: str, rule: str) -> None:
    assert rule in ids(source)


def test_paper_idioms_are_not_bypasses() -> None:
    source = "best = max(new_solutions, key=utility)\nscore = utility(solution)\n"
    assert [i for i in ids(source) if i.startswith("SBX")] == []


def test_policy_allow_list_disable_and_severity() -> None:
    source = "import os\nimport socket\nexec(code)\n"
    assert ids(source).count("IMP001") == 2
    allow_os = Policy(imports=ImportsPolicy(allow=(*ImportsPolicy().allow, "os")))
    assert ids(source, allow_os).count("IMP001") == 1
    disabled = Policy(rules=RulesPolicy(disable=("IMP001",)))
    assert "IMP001" not in ids(source, disabled)
    reranked = Policy(rules=RulesPolicy(severity={"DYN001": "low"}))
    dyn = [f for f in detectors.scan(source, policy=reranked) if f.rule_id == "DYN001"]
    assert [f.severity for f in dyn] == [Severity.LOW]


def test_memory_cache_is_keyed_by_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    source = "import os\n"
    calls: list[str] = []
    from stopbox.detectors import _scan

    real = _scan._scan_uncached

    def counting(src: str, path: str, allow: frozenset[str], *rest: Any) -> list[detectors.Finding]:
        calls.append(src)
        return real(src, path, allow, *rest)

    monkeypatch.setattr(_scan, "_scan_uncached", counting)
    first = detectors.scan(source)
    second = detectors.scan(source)
    assert first == second and len(calls) == 1
    allow_os = Policy(imports=ImportsPolicy(allow=("os",)))
    assert detectors.scan(source, policy=allow_os) == []
    assert len(calls) == 2


def test_disk_cache_survives_a_new_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOPBOX_NO_CACHE")
    monkeypatch.setenv("STOPBOX_CACHE_DIR", str(tmp_path))
    source = "import socket\nsocket.socket()\n"
    first = detectors.scan(source)
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1
    CACHE.clear_memory()  # as if a new process started
    again = detectors.scan(source)
    assert again == first
    files[0].write_text("not json")  # a corrupt entry is a miss, not a crash
    CACHE.clear_memory()
    assert detectors.scan(source) == first


def test_finding_json_has_exactly_the_design_fields() -> None:
    finding = detectors.scan("import os\n")[0]
    assert set(finding.to_json()) == {
        "rule_id", "name", "category", "severity", "confidence", "line", "col", "message",
    }  # fmt: skip
    assert detectors.Finding.from_json(finding.to_full_json()) == finding


def test_finding_is_frozen() -> None:
    finding = detectors.scan("import os\n")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.line = 3  # type: ignore[misc]
