"""`stopbox run` against an OpenAI-compatible server (real client, real HTTP on 127.0.0.1), with
``--record``, then the same run replayed from the cassette."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stopbox.harness.lm import get_lm
from stopbox.harness.lm.testing import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["run", "--iterations", "1", "--policy", "quick", "--jobs", "1", "--seed", "5"]


def stopbox(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stopbox.harness.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_run_through_openai_server_then_replay_gives_same_numbers(tmp_path: Path) -> None:
    cassette = tmp_path / "cassette.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with FakeOpenAIServer.backed_by(get_lm("synthetic", seed=5), api_key="test-key") as server:
        proc = stopbox(*ARGS, "--lm", "openai:gpt-4o-mini", "--record", str(cassette),
                       "--out", str(tmp_path / "live"),
                       env={**env, "OPENAI_API_KEY": "test-key",
                            "OPENAI_BASE_URL": server.base_url})  # fmt: skip
        served = len([r for r in server.chat_requests if r.status == 200])
    assert proc.returncode == 0, proc.stderr[-3000:]
    live = json.loads((tmp_path / "live" / "report.json").read_text())
    assert live["run"]["lm"]["synthetic"] is False
    assert "no language model" not in live["title"]
    # one HTTP request per message of a call (n samples each): calls <= requests <= samples
    usage = live["lm_usage"]
    assert 0 < usage["calls"] <= served <= usage["samples"]
    assert live["lm_usage"]["prompt_tokens"] > 0
    assert cassette.is_file() and cassette.stat().st_size > 0

    proc = stopbox(*ARGS, "--lm", f"replay:{cassette}", "--out", str(tmp_path / "replay"), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    replay = json.loads((tmp_path / "replay" / "report.json").read_text())
    for a, b in zip(live["iterations"], replay["iterations"], strict=True):
        assert (a["improver_sha256"], a["meta_utility_val"], a["meta_utility_test"]) == (
            b["improver_sha256"], b["meta_utility_val"], b["meta_utility_test"])  # fmt: skip
