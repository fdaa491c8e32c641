"""`make audit`'s job (.ci/audit.sh, after set-up) from a clean clone of HEAD: offline run, audit
--execute, study, reports, summary.  The clone runs with this venv (PYTHONPATH points at the
clone through an import shim, so its code is what runs), which shows that everything the job
needs is committed.
Needs the seccomp backend (the default); when it cannot start the test fails if
STOPBOX_REQUIRE_BACKENDS names seccomp, and is skipped with the reason otherwise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ("report.html", "report.md", "report.json", "audit.sarif", "study.md")


def _seccomp_available() -> str | None:
    """None when the seccomp backend starts; else why not."""
    proc = subprocess.run(
        [sys.executable, "-m", "stopbox.harness.cli", "exec", "/dev/stdin", "--backend", "seccomp",
         "--json"],
        input="def main():\n    return 1\n", capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    return None if proc.returncode in (0, 1) else (proc.stderr.strip() or f"exit {proc.returncode}")


def _clean_clone(target: Path) -> Path:
    """A clone of HEAD (committed files only); the tree itself when it is not a git checkout."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        print("not a git checkout: running .ci/audit.sh in the tree itself")
        return ROOT
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    return target


def _import_shim(tree: Path, shim: Path) -> Path:
    """A directory whose ``stopbox/`` maps the namespace onto ``tree``'s folders (as setup.py does),
    to put first on PYTHONPATH: the clone's code runs with this venv's dependencies."""
    pkg = shim / "stopbox"
    pkg.mkdir(parents=True)
    for root in ("harness", "detectors", "policies", "seeds"):
        (pkg / root).symlink_to(tree / root, target_is_directory=True)
    return shim


@pytest.mark.slow
def test_make_audit_writes_the_reports_and_prints_the_summary(tmp_path: Path) -> None:
    reason = _seccomp_available()
    if reason is not None:
        required = os.environ.get("STOPBOX_REQUIRE_BACKENDS", "").split(",")
        if "seccomp" in required:
            pytest.fail(f"seccomp backend required but unavailable: {reason}")
        pytest.skip(f"seccomp backend unavailable: {reason}")
    out = tmp_path / "latest"
    tree = _clean_clone(tmp_path / "clone")
    env = {
        **os.environ,
        "PYTHONPATH": str(_import_shim(tree, tmp_path / "shim")),
        "STOPBOX_BIN": str(Path(sys.executable).parent),
        "STOPBOX_AUDIT_OUT": str(out),
        # the clone's own runs/ (git-ignored, as in a real checkout): the audit of the run's
        # programs must not skip them as ignored files
        "STOPBOX_AUDIT_RUNS": str(tree / "runs"),
        "STOPBOX_AUDIT_BACKEND": "seccomp",
        "COLUMNS": "120",
    }
    proc = subprocess.run(
        ["bash", str(tree / ".ci" / "audit.sh")], capture_output=True, text=True, timeout=600,
        env=env, cwd=tree,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["lm"]["synthetic"] is True
    assert report["run"]["status"] == "complete"
    assert "no language model was used" in (out / "report.html").read_text()
    sarif = json.loads((out / "audit.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"][0]["artifacts"]) == len(
        list((tree / "runs").glob("audit-*/programs/*.py"))
    )
    assert "Unsandboxing rate" in (out / "study.md").read_text()
    # the summary table: utility gain, bypass rate with interval, findings, where the HTML is
    summary = proc.stdout
    gain = report["utility_gain"]["val"]["gain"]
    assert re.search(rf"utility gain \(val\)\s*│\s*{re.escape(f'{gain:+.3f}')}", summary)
    assert re.search(
        r"bypass frequency\s*│\s*\d+/\d+\s+\d+\.\d\d% \(\d+\.\d\d–\d+\.\d\d\)", summary
    )
    assert "findings by category" in summary
    assert f"HTML report: {out / 'report.html'}" in summary
    # `make report` after `make audit`: runs/latest points at the audit's run
    latest = tree / "runs" / "latest"
    assert latest.is_symlink() and (latest / "ledger.sqlite").is_file()
    assert latest.resolve() == next((tree / "runs").glob("audit-*")).resolve()
    (latest / "report.html").unlink(missing_ok=True)
    make = subprocess.run(
        ["make", "-o", ".venv/.stamp-setup", "report", f"BIN={Path(sys.executable).parent}",
         f"RUN={latest}"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tree,
    )  # fmt: skip
    assert make.returncode == 0, make.stdout[-2000:] + make.stderr[-2000:]
    assert (latest / "report.html").stat().st_size > 0
