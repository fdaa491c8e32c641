"""`stopbox audit` conventions users expect from bandit/ruff/semgrep (issue 12): stdin, config in
pyproject.toml, --config/--isolated, every loosening printed and in SARIF (validated against the
official SARIF 2.1.0 schema), .gitignore, --format github/junit, a PATH without Python is exit 2,
--version, shell completion, choices in help texts.  In-process through ``cli.main`` (the same
code the console script runs) to keep them fast; tests/e2e/test_wheel.py runs the installed
console script."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from stopbox.harness import __version__
from stopbox.harness.cli import main

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
BAD = "def f(utility, x):\n    return utility(x, use_sandbox=False)\n"
GOOD = "import math\n\ndef f():\n    return math.sqrt(4)\n"


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        old = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
        try:
            code = main(list(argv))
        finally:
            sys.stdin = old
    else:
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with one clean file, one bypass and a git-ignored bypass."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "gen").mkdir()
    (tmp_path / "pkg" / "good.py").write_text(GOOD)
    (tmp_path / "pkg" / "bad.py").write_text(BAD)
    (tmp_path / "gen" / "hidden.py").write_text(BAD)
    (tmp_path / ".gitignore").write_text("gen/\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sarif_of(text: str) -> dict:
    doc = json.loads(text)
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    return doc


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"stopbox {__version__}\n", "")
    assert run(capsys, "-V")[1] == f"stopbox {__version__}\n"


def test_stdin_is_audited_as_one_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", "-", "--format", "json", stdin=BAD)
    assert code == 1
    data = json.loads(out)
    assert [f["path"] for f in data["files"]] == ["<stdin>"]
    assert data["files"][0]["findings"][0]["rule_id"] == "SBX001"
    assert run(capsys, "audit", "-", stdin=GOOD)[0] == 0
    code, out, _ = run(capsys, "audit", "-", "pkg/good.py", "-f", "sarif", stdin=BAD)
    doc = sarif_of(out)
    uris = [a["location"]["uri"] for a in doc["runs"][0]["artifacts"]]
    assert code == 1 and sorted(uris) == ["pkg/good.py", "stdin"]


def test_sarif_is_valid_and_carries_automation_id_version_and_no_loosening(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "audit", "pkg", "--isolated", "--policy", "default", "-f", "sarif")
    assert code == 1
    assert "loosened" not in err
    doc = sarif_of(out)
    run_ = doc["runs"][0]
    assert run_["automationDetails"]["id"] == "stopbox/audit/"
    assert run_["tool"]["driver"]["version"] == __version__
    assert run_["invocations"][0]["properties"]["loosenings"] == []
    assert run_["invocations"][0]["properties"]["isolated"] is True
    assert [r["ruleId"] for r in run_["results"]] == ["SBX001"]


def test_pyproject_config_applies_and_every_loosening_is_printed_and_in_sarif(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.stopbox]\nfail-on = "critical"\nexclude = ["pkg/bad*"]\n'
        'policy = "loose.toml"\nbaseline = "accepted.json"\n'
    )
    (project / "loose.toml").write_text(
        'extends = "default"\nname = "loose"\n[rules]\ndisable = ["SBX002"]\n'
        '[rules.severity]\nSBX001 = "low"\n[imports]\nallow = ["math", "os"]\n'
        '[paths]\nwrite = ["/srv"]\n[sandbox]\nallow_missing_layers = ["landlock"]\n'
    )
    (project / "accepted.json").write_text('{"schema": "stopbox.baseline/1", "findings": []}\n')
    code, out, err = run(capsys, "audit", "pkg", "-f", "sarif")
    kinds = {
        item["kind"]
        for item in sarif_of(out)["runs"][0]["invocations"][0]["properties"]["loosenings"]
    }
    assert kinds == {
        "fail-on",
        "exclude",
        "baseline",
        "gitignore",
        "rule-disabled",
        "rule-reranked",
        "import-allowed",
        "path-writable",
        "layers-optional",
    } - {"gitignore"}  # pkg/ holds no git-ignored file
    for words in ("fail-on", "pkg/bad*", "accepted.json", "SBX002", "SBX001", "os", "landlock"):
        assert words in err, words
    assert code == 0  # bad.py excluded by the configuration: the gate passes, loudly

    # The same tree under --isolated: no config, no .gitignore; the bypass fails the gate.
    code, out, err = run(capsys, "audit", ".", "--isolated", "--policy", "default", "-f", "json")
    assert code == 1 and "loosened" not in err
    paths = {f["path"] for f in json.loads(out)["files"]}
    assert {"pkg/bad.py", "gen/hidden.py"} <= paths


def test_config_is_found_from_the_audited_path_upward(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text('[tool.stopbox]\nfail-on = "critical"\n')
    (project / "pkg" / "medium.py").write_text("import os\n")
    monkeypatch.chdir("/")
    code, _, err = run(capsys, "audit", str(project / "pkg" / "medium.py"))
    assert "fail-on" in err and str(project / "pyproject.toml") in err
    assert code == 0
    # --config FILE: a plain TOML file with top-level keys
    conf = project / "ci.toml"
    conf.write_text('fail-on = "low"\n')
    code, _, err = run(capsys, "audit", str(project / "pkg" / "medium.py"), "--config", str(conf))
    assert code == 1 and "loosened" not in err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[tool.stopbox]\nfail_on = "severe"\n', "fail-on: got 'severe'; allowed: low, medium"),
        ("[tool.stopbox]\ncolour = 1\n", "colour: unknown key; allowed: policy, fail-on"),
        ("[tool.stopbox]\nexclude = [1]\n", "exclude: got [1]; allowed: a list of globs"),
        ('[tool.stopbox]\npolicy = "nope"\n', "nope"),
    ],
)
def test_bad_config_is_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    (project / "pyproject.toml").write_text(text)
    code, _, err = run(capsys, "audit", "pkg")
    assert code == 2
    assert words in err and "pyproject.toml" in err


def test_gitignore_is_respected_except_under_isolated(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "keep.gen.py").write_text(BAD)
    (project / "pkg" / "skip.gen.py").write_text(BAD)
    (project / "pkg" / ".gitignore").write_text("*.gen.py\n!keep.gen.py\n")
    code, out, err = run(capsys, "audit", ".", "-f", "json")
    paths = {f["path"] for f in json.loads(out)["files"]}
    assert paths == {"pkg/good.py", "pkg/bad.py", "pkg/keep.gen.py"}
    assert "2 Python file(s) ignored by .gitignore" in err and code == 1
    code, out, _ = run(capsys, "audit", ".", "--isolated", "-f", "json")
    assert len(json.loads(out)["files"]) == 5
    # a file named explicitly is audited even when git-ignored
    code, out, _ = run(capsys, "audit", "gen/hidden.py", "-f", "json")
    assert code == 1 and [f["path"] for f in json.loads(out)["files"]] == ["gen/hidden.py"]


def test_a_path_without_python_is_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "docs").mkdir()
    (project / "docs" / "a.txt").write_text("x")
    code, _, err = run(capsys, "audit", "docs")
    assert code == 2 and "docs: holds no Python file" in err
    code, _, err = run(capsys, "audit", "gen")  # only git-ignored files
    assert code == 2 and "ignored by .gitignore" in err
    code, _, err = run(capsys, "audit", "pkg", "--exclude", "*.py")
    assert code == 2 and "excluded" in err
    assert run(capsys, "audit", "pkg", "--config", "x.toml", "--isolated")[0] == 2


def test_github_annotations(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pkg" / "odd, name.py").write_text("import os\n" + BAD)
    code, out, _ = run(capsys, "audit", "pkg", "-f", "github", "--fail-on", "critical")
    lines = out.splitlines()
    assert code == 1
    assert any(
        line.startswith("::error file=pkg/bad.py,line=2,col=23,title=SBX001 ") for line in lines
    )
    assert any(line.startswith("::error file=pkg/odd%2C name.py,line=1,col=8,") for line in lines)
    assert lines[-1].startswith("stopbox: 3 file(s), ")
    # the loosening (--fail-on above the default policy's) is a warning in the job too
    assert lines[0].startswith("::warning title=stopbox configuration::loosened: fail-on")


def test_junit(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", "pkg", "-f", "junit")
    suite = ET.fromstring(out).find("testsuite")
    assert code == 1 and suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["pkg/bad.py"]


def test_help_lists_choices_and_completion_works(capsys: pytest.CaptureFixture[str]) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "stopbox.harness.cli"]
    helptext = subprocess.run(
        [*cmd, "audit", "--help"], capture_output=True, text=True, env=env, timeout=60
    ).stdout
    assert "<text|json|sarif|md|html|github|junit>" in helptext
    assert "<low|medium|high|critical>" in helptext
    assert "<seccomp|gvisor|docker|none>" in helptext
    complete = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "_STOPBOX_COMPLETE": "complete_bash", "COMP_WORDS": "stopbox au",
             "COMP_CWORD": "1"},
    )  # fmt: skip
    assert complete.stdout.split() == ["audit"]
    script = subprocess.run(
        [*cmd, "--show-completion", "bash"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "_STOPBOX_COMPLETE" in script
