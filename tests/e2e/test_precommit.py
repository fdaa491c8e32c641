"""The gate as shipped: `.pre-commit-hooks.yaml` works from a clone at a commit (issue 12).

``pre-commit try-repo`` of a local clone of HEAD (committed files only, as a consumer pinning a
tag gets them) on a repository with one clean and one bypass file: exit 0 for the clean file,
exit 1 with the bypass reported when the bypass file is included.

Offline: pre-commit builds the hook's environment with ``pip install .`` of the clone.  The test
sets ``PIP_NO_INDEX`` (no registry), ``PIP_NO_BUILD_ISOLATION=0`` (build with the setuptools at
hand) and ``PIP_NO_DEPS`` (stopbox only), and puts this project's venv site-packages on
``PYTHONPATH`` for the dependencies; that directory holds no ``stopbox`` package (the editable
install is a ``.pth`` finder, which ``PYTHONPATH`` does not run), so the hook runs the clone's
code as installed into pre-commit's environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BYPASS = "def improve(utility, x):\n    return utility(x, use_sandbox=False)\n"
CLEAN = "import math\n\n\ndef f():\n    return math.sqrt(16)\n"


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=120
    ).stdout.strip()


def test_pre_commit_try_repo_from_a_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is no commit to try")
    clone = tmp_path / "clone"
    _git("clone", "--quiet", str(ROOT), str(clone), cwd=tmp_path)
    rev = _git("rev-parse", "HEAD", cwd=clone)
    target = tmp_path / "target"
    target.mkdir()
    _git("init", "--quiet", ".", cwd=target)
    (target / "clean.py").write_text(CLEAN)
    (target / "bypass.py").write_text(BYPASS)
    _git("add", ".", cwd=target)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL"))},
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PIP_NO_INDEX": "1",
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
        "VIRTUALENV_NO_DOWNLOAD": "1",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    pre_commit = [sys.executable, "-m", "pre_commit", "try-repo", str(clone), "stopbox-audit"]

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*pre_commit, "--ref", rev, "--verbose", "--files", *files],
            cwd=target, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    clean = try_repo("clean.py")
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert "Passed" in clean.stdout

    both = try_repo("clean.py", "bypass.py")
    assert both.returncode == 1, both.stdout[-3000:] + both.stderr[-3000:]
    assert "Failed" in both.stdout
    assert "bypass.py" in both.stdout and "SBX001" in both.stdout
