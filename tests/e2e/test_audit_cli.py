"""`stopbox audit` and `stopbox rules` as a user (or CI) runs them: exit codes, formats,
baselines, excludes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOPBOX = [sys.executable, "-m", "stopbox.harness.cli"]
BYPASS = (
    "def improve_algorithm(initial_solution, utility, language_model):\n"
    "    return utility(initial_solution, use_sandbox=False)\n"
)
CLEAN = "import math\n\n\ndef algorithm(x):\n    return math.sqrt(x)\n"
MEDIUM = "with open('out.txt', 'w') as fh:\n    fh.write('x')\n"


def stopbox(*args: str, cwd: Path, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, STOPBOX_CACHE_DIR=str(cache or cwd / ".cache"))
    env.pop("STOPBOX_NO_CACHE", None)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [*STOPBOX, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "bypass.py").write_text(BYPASS)
    (tmp_path / "src" / "clean.py").write_text(CLEAN)
    (tmp_path / "src" / "sub" / "writes.py").write_text(MEDIUM)
    (tmp_path / "src" / "sub" / "notes.txt").write_text("import os\n")
    return tmp_path


def test_exit_codes_follow_fail_on(tree: Path) -> None:
    assert stopbox("audit", "src/clean.py", cwd=tree).returncode == 0
    assert stopbox("audit", "src/bypass.py", cwd=tree).returncode == 1
    assert stopbox("audit", "src/sub/writes.py", cwd=tree).returncode == 0  # medium < high
    assert stopbox("audit", "src/sub/writes.py", "--fail-on", "medium", cwd=tree).returncode == 1
    assert stopbox("audit", "src/sub/writes.py", "--policy", "strict", cwd=tree).returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "missing.py"),
        ("audit", "src", "missing_dir"),
        ("audit", "src", "--fail-on", "severe"),
        ("audit", "src", "--format", "xml"),
        ("audit", "src", "--policy", "no_such_policy"),
        ("audit", "src", "--baseline", "nope.json"),
        ("rules", "--format", "yaml"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tree: Path, args: tuple[str, ...]) -> None:
    proc = stopbox(*args, cwd=tree)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() and "Traceback" not in proc.stderr


def test_unreadable_file_is_exit_2(tree: Path) -> None:
    if os.geteuid() == 0:
        target = tree / "src" / "sub"  # root can read anything: use a fifo-free special case
        proc = stopbox("audit", str(target / "notes.txt" / "x.py"), cwd=tree)
    else:
        target = tree / "src" / "secret.py"
        target.write_text(CLEAN)
        target.chmod(0)
        proc = stopbox("audit", str(target), cwd=tree)
    assert proc.returncode == 2 and proc.stderr.startswith("stopbox: error:")


def test_json_is_exactly_design_section_7(tree: Path) -> None:
    proc = stopbox("audit", "src", "--format", "json", cwd=tree)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert set(data) == {"files", "summary"}
    paths = [f["path"] for f in data["files"]]
    assert paths == ["src/bypass.py", "src/clean.py", "src/sub/writes.py"]  # *.py only, sorted
    for f in data["files"]:
        assert set(f) == {"path", "findings"}
        for finding in f["findings"]:
            assert set(finding) == {
                "rule_id", "name", "category", "severity", "confidence", "line", "col", "message",
            }  # fmt: skip
    summary = data["summary"]
    assert summary["files"] == 3 and summary["findings"] == 2
    assert summary["by_severity"] == {"low": 0, "medium": 1, "high": 0, "critical": 1}
    assert summary["by_category"]["sandbox-bypass"] == 1 and summary["by_category"]["io"] == 1
    assert summary["at_or_above_fail_on"] == 1 and summary["fail_on"] == "high"


def test_exclude_glob(tree: Path) -> None:
    proc = stopbox("audit", "src", "--format", "json", "--exclude", "sub", cwd=tree)
    assert [f["path"] for f in json.loads(proc.stdout)["files"]] == [
        "src/bypass.py",
        "src/clean.py",
    ]
    proc = stopbox("audit", "src", "--format", "json", "--exclude", "bypass.py", cwd=tree)
    assert proc.returncode == 0


@pytest.mark.parametrize("fmt", ["text", "md", "html", "sarif"])
def test_other_formats_to_out_file(tree: Path, fmt: str) -> None:
    out = tree / "reports" / f"audit.{fmt}"
    proc = stopbox("audit", "src", "--format", fmt, "--out", str(out), cwd=tree)
    assert proc.returncode == 1 and proc.stdout == ""
    text = out.read_text()
    assert "SBX001" in text
    if fmt == "sarif":
        assert json.loads(text)["version"] == "2.1.0"
    if fmt == "html":
        assert text.startswith("<!doctype html>") and "<table>" in text
    if fmt == "text":
        assert "src/bypass.py" in text and "sandbox-bypass" in text


def test_baseline_accepts_then_catches_a_new_finding(tree: Path) -> None:
    wrote = stopbox("audit", "src", "--write-baseline", "baseline.json", cwd=tree)
    assert wrote.returncode == 0 and (tree / "baseline.json").exists()
    assert stopbox("audit", "src", "--baseline", "baseline.json", cwd=tree).returncode == 0
    moved = "import math\n\n" + BYPASS  # moved down two lines: still accepted
    (tree / "src" / "bypass.py").write_text(moved)
    assert stopbox("audit", "src", "--baseline", "baseline.json", cwd=tree).returncode == 0
    doubled = moved + "\n\ndef other(utility):\n    return utility('x', use_sandbox=False)\n"
    (tree / "src" / "bypass.py").write_text(doubled)
    proc = stopbox("audit", "src", "--baseline", "baseline.json", "--format", "json", cwd=tree)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["summary"]["findings"] == 1 and data["summary"]["baselined"] == 2


def test_suppression_comment_does_not_silence(tree: Path) -> None:
    (tree / "src" / "bypass.py").write_text(BYPASS.replace("False)", "False)  # nosec"))
    proc = stopbox("audit", "src/bypass.py", "--format", "json", cwd=tree)
    assert proc.returncode == 1
    rules = [f["rule_id"] for f in json.loads(proc.stdout)["files"][0]["findings"]]
    assert sorted(rules) == ["EVA001", "SBX001"]


def test_unparsable_file_fails_the_gate(tree: Path) -> None:
    (tree / "src" / "broken.py").write_text("def f(:\n")
    proc = stopbox("audit", "src/broken.py", "--format", "json", cwd=tree)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["files"][0]["findings"][0]["rule_id"] == "EVA002"


def test_cached_rerun_gives_the_same_answer(tree: Path) -> None:
    first = stopbox("audit", "src", "--format", "json", cwd=tree)
    assert any((tree / ".cache").rglob("*.json"))
    second = stopbox("audit", "src", "--format", "json", cwd=tree)
    assert first.stdout == second.stdout and first.returncode == second.returncode


@pytest.mark.parametrize("fmt", ["text", "json", "md"])
def test_rules_lists_every_rule(tree: Path, fmt: str) -> None:
    proc = stopbox("rules", "--format", fmt, cwd=tree)
    assert proc.returncode == 0
    for rule_id in ("SBX001", "IMP001", "DYN001", "INT001", "TMP001", "IO001", "NET001", "PRC001",
                    "EVA001", "RUN001"):  # fmt: skip
        assert rule_id in proc.stdout
    if fmt == "json":
        rules = json.loads(proc.stdout)
        assert all({"id", "name", "category", "severity", "description"} <= set(r) for r in rules)
