"""`stopbox audit --execute`: each file also runs in a real sandbox backend; runtime findings
and the static/runtime cross-check appear in the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stopbox.harness.sandbox import available_backends

ROOT = Path(__file__).resolve().parents[2]
ATTEMPT = """\
import os
print("hello")
try:
    os.system("id")
except Exception as exc:
    print("refused", exc)
"""


def _require(name: str) -> None:
    reason = available_backends().get(name, f"backend {name!r} is not registered")
    if reason is None:
        return
    required = {b for b in os.environ.get("STOPBOX_REQUIRE_BACKENDS", "").split(",") if b}
    if name in required:
        pytest.fail(f"backend {name!r} is required (STOPBOX_REQUIRE_BACKENDS) but: {reason}")
    print(f"SKIP backend {name}: {reason}")
    pytest.skip(f"backend {name!r} unavailable: {reason}")


def test_execute_adds_results_runtime_findings_and_cross_check(
    tmp_path: Path, backend_name: str
) -> None:
    _require(backend_name)
    (tmp_path / "attempt.py").write_text(ATTEMPT)
    (tmp_path / "clean.py").write_text("print(sum(range(10)))\n")
    env = dict(os.environ, STOPBOX_CACHE_DIR=str(tmp_path / ".cache"), PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "stopbox.harness.cli", "audit", ".", "--execute", "--backend",
         backend_name, "--format", "json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    files = {f["path"]: f for f in data["files"]}
    clean, attempt = files["clean.py"], files["attempt.py"]
    assert clean["result"]["status"] == "ok" and clean["result"]["stdout"] == "45\n"
    assert clean["runtime_findings"] == []
    assert attempt["result"]["status"] != "ok" or attempt["runtime_findings"]
    runtime_categories = {f["category"] for f in attempt["runtime_findings"]}
    assert "process" in runtime_categories
    assert {f["rule_id"] for f in attempt["findings"]} >= {"IMP001", "PRC001"}
    cc = data["summary"]["cross_check"]
    assert cc["both"] >= 1
    assert {"path": "attempt.py", "category": "process", "kind": "both"} in cc["pairs"]
