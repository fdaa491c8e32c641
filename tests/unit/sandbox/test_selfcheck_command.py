"""`stopbox selfcheck`: output format and exit codes (the attacks themselves are covered by
tests/containment, which runs every one of them on every backend)."""

from __future__ import annotations

import json

import pytest

from stopbox.harness.cli import main
from stopbox.harness.sandbox.selfcheck import _containment
from stopbox.harness.sandbox.selfcheck._containment import ATTACKS, Verdict


@pytest.fixture(autouse=True)
def _seccomp() -> None:
    from tests.conftest import require_backend

    require_backend("seccomp")


def test_prints_one_line_per_attack_and_the_total(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    few = tuple(a for a in ATTACKS if a.id in ("read_secret_file", "net_tcp", "forge_frames"))
    monkeypatch.setattr(_containment, "ATTACKS", few)
    monkeypatch.setattr("stopbox.harness.commands.selfcheck.ATTACKS", few)
    assert main(["selfcheck", "--backend", "seccomp"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "contained 3/3 (seccomp)"
    assert sum("contained  " in line for line in out.splitlines()) == 3
    assert main(["selfcheck", "--backend", "seccomp", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["contained"] == obj["total"] == 3
    assert [a["id"] for a in obj["attacks"]] == [a.id for a in few]


def test_exit_1_when_an_attack_escapes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    one = (ATTACKS[0],)
    monkeypatch.setattr("stopbox.harness.commands.selfcheck.ATTACKS", one)

    def escaped(self: _containment.Arena, attack: _containment.Attack) -> Verdict:
        return Verdict(attack, False, ("canary secret appeared in the job's result",), None, 0.1)

    monkeypatch.setattr(_containment.Arena, "run", escaped)
    assert main(["selfcheck", "--backend", "seccomp"]) == 1
    out = capsys.readouterr().out
    assert "ESCAPED" in out and "contained 0/1 (seccomp)" in out


def test_none_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selfcheck", "--backend", "none"]) == 2
    assert "none" in capsys.readouterr().err
