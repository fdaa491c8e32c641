"""synthetic:latency_s=.. (a slow LM, cut by deadlines) and synthetic:distinct=1 (unique texts)."""

from __future__ import annotations

import time

import pytest

from stopbox.harness.lm import get_lm
from stopbox.harness.lm._deadline import DeadlineExceeded, lm_deadline
from stopbox.harness.sandbox.helpers import code_blocks

ASK = "Improve the following solution:\n```python\ndef algorithm(x):\n    return x\n```"


def test_latency_is_waited_and_cut_by_the_deadline() -> None:
    lm = get_lm("synthetic:latency_s=0.2")
    started = time.monotonic()
    lm.complete("", [ASK], temperature=0.7)
    assert time.monotonic() - started >= 0.2
    slow = get_lm("synthetic:latency_s=30")
    started = time.monotonic()
    with lm_deadline(0.2, "improver_wall_s = 0.2 s"), pytest.raises(DeadlineExceeded):
        slow.complete("", [ASK], temperature=0.7)
    assert time.monotonic() - started < 2


def test_distinct_marks_every_sample_inside_its_code() -> None:
    plain = get_lm("synthetic", seed=3).complete("", [ASK, ASK], temperature=0.0, n=2).texts
    marked = get_lm("synthetic:distinct=1", seed=3).complete("", [ASK, ASK], temperature=0.0, n=2)
    assert len(set(marked.texts)) == 4
    for before, after in zip(plain, marked.texts, strict=True):
        blocks = code_blocks(after)
        code = blocks[-1] if blocks else after
        assert "# sample " in code and after.replace(code, "") != after
        assert len(after) > len(before)
