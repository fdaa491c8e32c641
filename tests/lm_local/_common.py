"""Shared by the replay tests of the recorded real-model cassettes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "cassettes"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
MODEL = "qwen2.5-coder-0.5b-instruct"
URL = "http://127.0.0.1:8765/v1"


def stopbox(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([sys.executable, "-m", "stopbox.harness.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
