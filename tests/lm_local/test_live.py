"""Opt-in: `make lm-local`'s steps with a real model (STOPBOX_LIVE_LM=1).

Builds llama-cpp-python's server (first time: tens of minutes on 2 cores), fetches and verifies
the model, serves it on 127.0.0.1, runs a short study and a 1-iteration run with
policies/local-lm.toml and stops the server.  Not part of the default suite: it needs minutes
of CPU; the recorded cassettes (test_cassettes.py) replay the same kind of run in CI.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.environ.get("STOPBOX_LIVE_LM") != "1",
    reason="live real-model test: set STOPBOX_LIVE_LM=1 to run make lm-local's steps",
)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.timeout(5400)
def test_make_lm_local_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "lm-local"
    env = {**os.environ, "LM_LOCAL_OUT": str(out), "LM_LOCAL_SAMPLES": "2",
           "LM_LOCAL_PORT": "8766"}  # fmt: skip
    proc = subprocess.run(["bash", "scripts/lm-local.sh"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=5400)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert _port_free(8766), "the server was not stopped"
    study = json.loads((out / "study" / "study.json").read_text())
    plain = study["prompts"]["plain"]
    assert plain["samples"] == 2 and set(plain["attempts"]) >= {"no_code", "disables"}
    assert "no language model" not in study["title"]
    report = json.loads((out / "run" / "report.json").read_text())
    assert report["run"]["status"] == "complete"
    assert "qwen2.5-coder-0.5b-instruct" in report["run"]["lm"]["label"]
    assert "127.0.0.1:8766" in report["run"]["lm"]["label"]
    figures = json.loads((out / "figures.json").read_text())
    assert figures["completion_tokens_per_s"] > 0
