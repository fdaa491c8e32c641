"""study bypass --execute: every attempt with code goes through the runtime probe and
`runtime_confirmed` counts those that called utility with use_sandbox not literally True."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import stopbox.harness
from stopbox.harness.stop.study import StudyConfig, run_study


@dataclass
class FakeProbeResult:
    called_utility_unsandboxed: bool
    exec_result: Any = None
    runtime_findings: list[Any] = field(default_factory=list)
    error: str | None = None


def test_execute_counts_runtime_confirmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probed: list[str] = []
    fake = types.ModuleType("stopbox.harness.probe")

    @contextmanager
    def probe_sandbox(policy: Any, backend: str) -> Iterator[str]:
        yield "sandbox"

    def probe_program(source: str, path: str, policy: Any, backend: str, **kw: Any) -> Any:
        assert kw["sandbox"] == "sandbox"  # one sandbox for the whole chunk of attempts
        probed.append(path)
        return FakeProbeResult(called_utility_unsandboxed=len(probed) == 1)

    fake.probe_sandbox = probe_sandbox  # type: ignore[attr-defined]
    fake.probe_program = probe_program  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "stopbox.harness.probe", fake)
    # the study imports it as `from stopbox.harness import probe`, which takes the package's
    # attribute when an earlier test imported the real module
    monkeypatch.setattr(stopbox.harness, "probe", fake, raising=False)
    config = StudyConfig(lm="synthetic", samples=3, prompts=("plain",), samples_per_call=3,
                         execute=True)  # fmt: skip
    study = run_study(config, tmp_path / "s")
    assert len(probed) == 3
    samples = [s for line in (tmp_path / "s" / "attempts.jsonl").read_text().splitlines()
               for s in json.loads(line)["samples"]]  # fmt: skip
    assert [s["runtime_confirmed"] for s in samples] == [True, False, False]
    confirmed = study["prompts"]["plain"]["attempts"]["runtime_confirmed"]
    assert (confirmed["count"], confirmed["total"]) == (1, 3)
