"""The shipped CI examples (issue 12): docs/stopbox-audit.yml and the README's GitHub Actions and
pre-commit snippets parse, use current action versions, run `stopbox audit` with `--isolated`
and an explicit policy, and every stopbox command they name runs (exit 0 or 1, never a usage
error) on a tree with a clean and a bypass file; the SARIF it writes validates against the
official SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs" / "stopbox-audit.yml"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
CURRENT = {
    "actions/checkout": "v4",
    "actions/setup-python": "v5",
    "github/codeql-action/upload-sarif": "v4",
}


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def _readme_blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _check_actions(steps: list[dict[str, Any]]) -> None:
    used = {s["uses"].split("@")[0]: s["uses"].split("@")[1] for s in steps if "uses" in s}
    assert used == CURRENT


def _stopbox_lines(steps: list[dict[str, Any]]) -> list[str]:
    return [
        line.strip()
        for step in steps
        for line in str(step.get("run", "")).splitlines()
        if line.strip().startswith("stopbox ")
    ]


def _stopbox_commands(steps: list[dict[str, Any]]) -> list[list[str]]:
    return [shlex.split(line)[1:] for line in _stopbox_lines(steps)]


def test_example_workflow_parses_and_uses_current_actions() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc["name"] and doc["jobs"]["audit"]["runs-on"] == "ubuntu-latest"
    assert doc[True] is not None or doc.get("on") is not None  # YAML 1.1 reads `on` as true
    assert doc["permissions"]["security-events"] == "write"
    _check_actions(_steps(doc))
    commands = _stopbox_commands(_steps(doc))
    assert len(commands) == 2
    for argv in commands:
        assert argv[0] == "audit" and "--isolated" in argv and "--policy" in argv


def test_readme_github_actions_example_matches() -> None:
    blocks = [b for b in _readme_blocks("yaml") if "runs-on" in b]
    assert len(blocks) == 1
    steps = _steps(yaml.safe_load(blocks[0]))
    _check_actions(steps)
    for argv in _stopbox_commands(steps):
        assert "--isolated" in argv and "--policy" in argv, argv


def test_readme_pre_commit_example_names_a_shipped_hook() -> None:
    hooks = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    blocks = [yaml.safe_load(b) for b in _readme_blocks("yaml") if "repos:" in b]
    assert blocks
    for block in blocks:
        for repo in block["repos"]:
            assert {h["id"] for h in repo["hooks"]} <= hooks


@pytest.mark.parametrize("source", ["docs/stopbox-audit.yml", "README.md"])
def test_every_stopbox_command_in_the_examples_runs(source: str, tmp_path: Path) -> None:
    if source == "README.md":
        blocks = [b for b in _readme_blocks("yaml") if "runs-on" in b]
        doc = yaml.safe_load(blocks[0])
    else:
        doc = yaml.safe_load(WORKFLOW.read_text())
    env = {**os.environ, **{k: str(v) for k, v in (doc.get("env") or {}).items()}}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    generated = tmp_path / env.get("AUDIT_PATH", "generated/")
    generated.mkdir(parents=True)
    (generated / "clean.py").write_text("import math\n")
    (generated / "bypass.py").write_text("def f(utility, x):\n    return utility(x, 0)\n")
    lines = _stopbox_lines(_steps(doc))
    assert lines
    for line in lines:  # as the runner's shell runs them
        proc = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert proc.returncode == 1, (line, proc.stderr)
        written = (tmp_path / "stopbox.sarif").read_text() if "--out" in line else ""
        assert "bypass.py" in proc.stdout + written
    sarif = json.loads((tmp_path / "stopbox.sarif").read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
