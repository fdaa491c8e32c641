"""Cassettes: record -> replay round trips, ordering of repeated prompts, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stopbox.harness.errors import CassetteError
from stopbox.harness.lm import get_lm
from stopbox.harness.lm.openai_backend import OpenAILM
from stopbox.harness.lm.replay import RecordingLM, ReplayLM, request_key
from stopbox.harness.lm.testing import FakeOpenAIServer

IMPROVE = "Improve the following solution:\n```python\ndef algorithm(x):\n    return x\n```\n"


def test_synthetic_round_trip_keeps_texts_labels_and_usage(tmp_path: Path) -> None:
    cassette = tmp_path / "run.cassette.jsonl"
    recorder = get_lm("synthetic:red_team_rate=0.5", seed=3, record=cassette)
    assert isinstance(recorder, RecordingLM)
    calls = [("sys", [IMPROVE] * 4, 0.7, 1), ("sys", ["other"], 1.0, 3), ("sys", [IMPROVE], 0.7, 2)]
    recorded = [recorder.complete(s, m, temperature=t, n=n) for s, m, t, n in calls]
    recorder.close()
    lines = cassette.read_text().splitlines()
    assert len(lines) == 4 + 3 + 2

    replay = get_lm(f"replay:{cassette}")
    assert isinstance(replay, ReplayLM)
    assert replay.is_synthetic
    assert "not a language model" in replay.label
    replayed = [replay.complete(s, m, temperature=t, n=n) for s, m, t, n in calls]
    for a, b in zip(recorded, replayed, strict=True):
        assert a.texts == b.texts
        assert [dict(x) for x in a.labels] == [dict(x) for x in b.labels]
        assert (a.prompt_tokens, a.completion_tokens) == (b.prompt_tokens, b.completion_tokens)
        assert a.cost_usd == pytest.approx(b.cost_usd)


def test_repeated_identical_prompts_replay_in_recorded_order(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    recorder = get_lm("synthetic", seed=11, record=cassette)
    first = recorder.complete("s", [IMPROVE, IMPROVE], temperature=0.9).texts
    second = recorder.complete("s", [IMPROVE], temperature=0.9).texts
    recorder.close()
    replay = get_lm(f"replay:{cassette}")
    # grouped differently on replay: one message at a time
    got = [replay.complete("s", [IMPROVE], temperature=0.9).texts[0] for _ in range(3)]
    assert got == [*first, *second]
    with pytest.raises(CassetteError, match="occurrence 3"):
        replay.complete("s", [IMPROVE], temperature=0.9)


def test_openai_responses_recorded_through_http_replay_offline(tmp_path: Path) -> None:
    cassette = tmp_path / "gpt.jsonl"
    with FakeOpenAIServer(["alpha beta", "gamma"]) as server:
        inner = OpenAILM("gpt-4o-mini", api_key="k", base_url=server.base_url)
        recorder = RecordingLM(inner, cassette)
        live = recorder.complete("sys", ["p1", "p2"], temperature=0.4, n=2)
        recorder.close()
    replay = ReplayLM(cassette)
    again = replay.complete("sys", ["p1", "p2"], temperature=0.4, n=2)
    assert again.texts == live.texts
    assert (again.prompt_tokens, again.completion_tokens) == (
        live.prompt_tokens,
        live.completion_tokens,
    )
    assert again.cost_usd == pytest.approx(live.cost_usd)
    assert again.model == "gpt-4o-mini"
    assert not replay.is_synthetic
    assert again.labels == ()


def test_keys_cover_model_system_message_temperature_n_sample_and_occurrence() -> None:
    base = ("m", "s", "msg", 0.7, 2, 0, 0)
    keys = {request_key(*base)}
    for i, changed in enumerate(["m2", "s2", "msg2", 0.8, 3, 1, 1]):
        args = list(base)
        args[i] = changed
        keys.add(request_key(*args))  # type: ignore[arg-type]
    assert len(keys) == 8
    assert request_key("m", "s", "msg", 1, 1, 0, 0) == request_key("m", "s", "msg", 1.0, 1, 0, 0)


def test_miss_names_cassette_hash_and_prompt(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    recorder = get_lm("synthetic", record=cassette)
    recorder.complete("s", ["known prompt"], temperature=0.5)
    recorder.close()
    replay = get_lm(f"replay:{cassette}")
    expected = request_key("synthetic", "s", "never recorded prompt", 0.5, 1, 0, 0)
    with pytest.raises(CassetteError) as info:
        replay.complete("s", ["never recorded prompt"], temperature=0.5)
    message = str(info.value)
    assert str(cassette) in message
    assert expected in message
    assert "never recorded prompt" in message
    with pytest.raises(CassetteError):  # same prompt, other temperature
        replay.complete("s", ["known prompt"], temperature=0.6)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "JSON object"),
        ('{"v": 99}', "version"),
        ('{"v": 1, "key": "k", "model": "m", "sample": "0", "occurrence": 0, "text": "t"}',
         "sample"),
        ('{"v": 1, "key": "k", "model": "m", "sample": 0, "occurrence": 0}', "text"),
        ('{"v": 1, "key": "k", "model": "m", "sample": 0, "occurrence": 0, "text": "t",'
         ' "prompt_tokens": -1}', "prompt_tokens"),
        ('{"v": 1, "key": "k", "model": "m", "sample": 0, "occurrence": 0, "text": "t",'
         ' "label": 3}', "label"),
    ],
)  # fmt: skip
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, match: str) -> None:
    cassette = tmp_path / "bad.jsonl"
    good = {"v": 1, "key": "k0", "model": "m", "sample": 0, "occurrence": 0, "text": "t"}
    cassette.write_text(json.dumps(good) + "\n\n" + line + "\n")
    with pytest.raises(CassetteError, match=match) as info:
        get_lm(f"replay:{cassette}")
    assert f"{cassette}:3:" in str(info.value)


def test_missing_and_empty_cassettes(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="not found"):
        get_lm(f"replay:{tmp_path / 'nope.jsonl'}")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(CassetteError, match="empty"):
        get_lm(f"replay:{empty}")
    with pytest.raises(CassetteError, match="cassette path"):
        get_lm("replay:")


def test_recording_appends_to_an_existing_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    for _ in range(2):
        lm = get_lm("synthetic", record=cassette)
        lm.complete("s", ["p"], temperature=0.5)
        lm.close()
    assert len(cassette.read_text().splitlines()) == 2


def test_named_requests_replay_exactly_in_any_order(tmp_path: Path) -> None:
    from stopbox.harness.lm import lm_request

    cassette = tmp_path / "parallel.jsonl"
    recorder = get_lm("synthetic", seed=2, record=cassette)
    recorded = {}
    for name in ["ctx-a#0", "ctx-b#0", "ctx-c#0"]:  # identical prompts, three contexts
        with lm_request(name):
            recorded[name] = recorder.complete("s", [IMPROVE] * 2, temperature=0.8).texts
    recorder.close()
    replay = get_lm(f"replay:{cassette}")
    for name in ["ctx-c#0", "ctx-a#0", "ctx-b#0"]:  # another completion order
        with lm_request(name):
            assert replay.complete("s", [IMPROVE] * 2, temperature=0.8).texts == recorded[name]
    with lm_request("ctx-d#0"), pytest.raises(CassetteError, match="ctx-d#0"):
        replay.complete("s", [IMPROVE], temperature=0.8)
    assert [json.loads(line)["request"] for line in cassette.read_text().splitlines()][:2] == [
        "ctx-a#0",
        "ctx-a#0",
    ]
