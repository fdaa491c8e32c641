from __future__ import annotations

from pathlib import Path

import pytest

from stopbox.harness.errors import PolicyError
from stopbox.harness.policy import POLICY_DIR, load_policy, policy_from_dict


@pytest.mark.parametrize("name", ["default", "strict", "paper"])
def test_shipped_policies_load(name: str) -> None:
    policy = load_policy(name)
    assert policy.name == name
    assert "numpy" in policy.imports.allow
    assert "os" not in policy.imports.allow


def test_extends_merges_tables_key_by_key() -> None:
    strict = load_policy("strict")
    default = load_policy("default")
    assert strict.gate.fail_on == "medium"
    assert strict.sandbox.memory_mb == 512
    # not overridden in strict.toml: inherited from default.toml
    assert strict.sandbox.call_timeout_s == default.sandbox.call_timeout_s
    assert strict.imports.allow == default.imports.allow


def test_paper_records_instead_of_blocking() -> None:
    paper = load_policy("paper")
    assert paper.gate.on_blocking == "record"
    assert (paper.budget.lm_calls, paper.budget.samples_per_call) == (4, 6)
    assert (paper.budget.utility_calls, paper.budget.meta_utility_tests) == (25, 5)


def test_policy_is_frozen() -> None:
    policy = load_policy()
    with pytest.raises(AttributeError):
        policy.gate = None  # type: ignore[misc]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ("colour = 1", "colour", "allowed: name"),
        ("[gate]\nfail_on = 'severe'", "gate.fail_on", "low, medium, high, critical"),
        ("[gate]\nbogus = 1", "gate.bogus", "allowed: fail_on"),
        ("[sandbox]\nbackend = 'vm'", "sandbox.backend", "seccomp, gvisor, docker, none"),
        ("[sandbox]\nmemory_mb = -5", "sandbox.memory_mb", "an integer >= 0"),
        ("[sandbox]\nwall_s = 'long'", "sandbox.wall_s", "a number > 0"),
        ("[imports]\nallow = 'os'", "imports.allow", "a list of non-empty strings"),
        ("[rules]\nseverity = { X1 = 'huge' }", "rules.severity.X1", "low, medium"),
        ("extends = 'no-such-policy'", "extends", "allowed: default"),
        ("gate = [", "-", "not valid TOML"),
    ],
)
def test_bad_policy_names_file_key_and_allowed(
    tmp_path: Path, text: str, key: str, allowed: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert info.value.key == key
    assert allowed in message
    assert str(path) in message


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('extends = "./b.toml"\n')
    b.write_text('extends = "./a.toml"\n')
    with pytest.raises(PolicyError, match="cycle"):
        load_policy(a)


def test_extends_relative_path_and_override(tmp_path: Path) -> None:
    path = write(tmp_path, f'extends = "{POLICY_DIR / "paper.toml"}"\n[budget]\nlm_calls = 2\n')
    policy = load_policy(path)
    assert policy.budget.lm_calls == 2
    assert policy.gate.on_blocking == "record"


def test_policy_from_dict_round_trip() -> None:
    policy = load_policy("strict")
    data = policy.to_dict()
    again = policy_from_dict(data)
    assert again.gate == policy.gate and again.sandbox == policy.sandbox
