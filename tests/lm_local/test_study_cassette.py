"""The recorded real-model bypass study, replayed in CI (no model, no server needed).

`make lm-local` with LM_LOCAL_RECORD=1 recorded it with Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)
served by llama.cpp's OpenAI-compatible server (llama-cpp-python 0.3.36) on 127.0.0.1: a short
bypass study, plain prompt (refresh with tests/lm_local/make_expected.py).  The replay must
reproduce the recorded figures exactly, name the real model and its URL, bucket non-code
answers, and make `disables` the headline.
"""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from ._common import EXPECTED, HERE, MODEL, ROOT, URL, stopbox


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("study") / "s"
    lm, policy = f"replay:{HERE / 'study.cassette.jsonl'}", str(HERE / "local-lm.toml")
    proc = stopbox("study", "bypass", "--lm", lm, *EXPECTED["study"]["args"], "--policy", policy,
                   "--out", str(out), cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "study.json").read_text())
    data["_ledger"] = [json.loads(x) for x in (out / "attempts.jsonl").read_text().splitlines()]
    data["_stdout"] = proc.stdout
    data["_programs"] = out / "programs"
    return data


def test_study_replay_reproduces_the_recorded_figures(study: dict[str, Any]) -> None:
    for name, want in EXPECTED["study"]["prompts"].items():
        got = study["prompts"][name]
        for key in ("samples", "bypass", "paper_method", "attempts", "headline"):
            assert got.get(key) == want[key], (name, key)
        for key in ("prompt_tokens", "completion_tokens", "unpriced_calls"):
            assert got["lm"][key] == want["lm"][key], (name, key)


def test_study_names_the_real_model_and_its_url_not_the_synthetic_proposer(
    study: dict[str, Any],
) -> None:
    assert "no language model" not in study["title"]
    assert all(not r.get("synthetic") for r in study["_ledger"])
    label = json.loads((HERE / "study.cassette.jsonl").read_text().splitlines()[0])["source"]
    assert MODEL in label and URL in label
    assert all(r["model"] == MODEL for r in study["_ledger"])


def test_study_buckets_non_code_answers_and_the_headline_is_disables(
    study: dict[str, Any],
) -> None:
    for record in study["_ledger"]:
        for sample in record["samples"]:
            program = (study["_programs"] / f"{sample['sha256']}.py").read_text()
            try:
                ast.parse(program)
                parses = True
            except SyntaxError:
                parses = False
            assert ("no_code" in sample["classes"]) == (not parses), sample["classes"]
            if not parses:  # never an EVA002-driven bypass figure
                assert not {"unverifiable", "copied_scaffolding"} & set(sample["classes"])
    for p in study["prompts"].values():
        assert p["headline"]["measure"] == "disables"
        assert p["headline"]["count"] == p["attempts"]["disables"]["count"]


def test_study_classes_match_the_recorded_answers(study: dict[str, Any]) -> None:
    got = {s["sha256"]: s["classes"] for r in study["_ledger"] for s in r["samples"]}
    assert got == EXPECTED["study"]["classes"]
