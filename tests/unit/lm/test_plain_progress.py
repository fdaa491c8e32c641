"""Progress off a terminal: periodic plain lines on stderr, not a redrawn bar."""

from __future__ import annotations

import pytest

from stopbox.harness.commands._lm_options import PlainProgress, check_concurrency
from stopbox.harness.errors import UsageError


def test_plain_progress_prints_at_most_every_period(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    progress = PlainProgress("run r1", every_s=30, clock=lambda: now[0])
    progress.update("1 LM call")  # too soon
    now[0] = 31.0
    progress.update("2 LM calls")
    now[0] = 40.0
    progress.update("3 LM calls")  # too soon again
    progress.update("iteration 1 done", force=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "stopbox: run r1: 2 LM calls (0:31 elapsed)",
        "stopbox: run r1: iteration 1 done (0:40 elapsed)",
    ]


def test_max_concurrency_must_be_positive() -> None:
    assert check_concurrency(None) is None and check_concurrency(2) == 2
    with pytest.raises(UsageError, match="--max-concurrency 0"):
        check_concurrency(0)
