"""The recorded real-model 1-iteration run, replayed in CI (no model, no server needed).

Recorded by `make lm-local` (LM_LOCAL_RECORD=1) with Qwen2.5-Coder-0.5B-Instruct (Q4_K_M) on
llama.cpp's OpenAI-compatible server at 127.0.0.1, policy local-lm (snapshotted beside the
cassette).  The replay must reproduce the recorded figures exactly, name the real model and its
URL, and produce no figure from fallback values (a failed improver run scores 0).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ._common import EXPECTED, HERE, MODEL, ROOT, URL, stopbox


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("run") / "r"
    lm, policy = f"replay:{HERE / 'run.cassette.jsonl'}", str(HERE / "local-lm.toml")
    proc = stopbox("run", "--lm", lm, *EXPECTED["run"]["args"], "--policy", policy,
                   "--out", str(out), cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    report["_stdout"] = proc.stdout
    return report


def test_run_replay_reproduces_the_recorded_figures(run: dict[str, Any]) -> None:
    want = EXPECTED["run"]
    got = [
        {
            k: it[k]
            for k in (
                "iteration",
                "meta_utility_val",
                "meta_utility_test",
                "val_values",
                "test_values",
                "reason",
            )
        }  # fmt: skip
        for it in run["iterations"]
    ]
    assert got == want["iterations"]
    for key in ("calls", "samples", "prompt_tokens", "completion_tokens"):
        assert run["lm_usage"][key] == want["lm_usage"][key], key


def test_run_names_the_real_model_and_its_url(run: dict[str, Any]) -> None:
    label = run["run"]["lm"]["label"]
    assert MODEL in label and URL in label and "replay of" in label
    assert run["run"]["lm"]["synthetic"] is False
    assert "no language model" not in run["title"]


def test_run_has_no_headline_from_fallback_values(run: dict[str, Any]) -> None:
    for it in run["iterations"]:
        failed = it["failed_tests"]
        recorded = EXPECTED["run"]["run_reasons"][str(it["iteration"])]
        assert failed["failed"] == len([r for r in recorded if r != "ok"])
        for value, reason in zip(it["val_values"], recorded, strict=True):
            if reason != "ok":
                assert value == 0.0  # a failed improver scores 0, never the initial solution's
    # recorded: the improved improver was unparsable (EVA002) and blocked, so every improved
    # improver run failed: the summary says so and prints no gain
    assert run["utility_gain"].get("every_improver_failed") is True
    assert not any(line.startswith("utility gain:") for line in run["_stdout"].splitlines())
    assert "no utility gain" in run["_stdout"]
