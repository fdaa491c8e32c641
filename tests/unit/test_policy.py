from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import typing
from dataclasses import replace
from pathlib import Path

import annotated_types as at
import jsonschema
import pytest

from stopbox.harness._policy_schema import Choice, _split, validate
from stopbox.harness.errors import PolicyError
from stopbox.harness.policy import (
    POLICY_DIR,
    Policy,
    load_policy,
    policy_from_dict,
    policy_json_schema,
)


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
        ("colour = 1", "colour", "allowed: name, description, imports"),
        ("source = 'x'", "source", "unknown key"),
        ("[gate]\nfail_on = 'severe'", "gate.fail_on", "low, medium, high, critical"),
        ("[gate]\nbogus = 1", "gate.bogus", "allowed: fail_on, block_at, on_blocking"),
        ("[sandbox]\nbackend = 'vm'", "sandbox.backend", "seccomp, gvisor, docker, none"),
        ("[sandbox]\nmemory_mb = 0", "sandbox.memory_mb", "an integer from 32 to 1048576"),
        ("[sandbox]\ncpu_s = 0", "sandbox.cpu_s", "an integer from 1 to 86400"),
        ("[sandbox]\nwall_s = 1e400", "sandbox.wall_s", "a finite number > 0 and <= 86400"),
        ("[sandbox]\nwall_s = nan", "sandbox.wall_s", "got nan"),
        ("[sandbox]\nwall_s = 'long'", "sandbox.wall_s", "a finite number > 0"),
        ("[sandbox]\nmemory_mb = 512.0", "sandbox.memory_mb", "got 512.0; allowed: an integer"),
        ("[budget]\nlm_calls = true", "budget.lm_calls", "got true; allowed: an integer"),
        ("[imports]\nallow = 'os'", "imports.allow", "a list of non-empty strings"),
        ("[imports]\nallow = ['os', '']", "imports.allow[1]", "a non-empty string"),
        ("[rules]\nseverity = { X1 = 'huge' }", "rules.severity.X1", "low, medium"),
        ("gate = 3", "gate", "got 3; allowed: a table"),
        ("extends = 'no-such-policy'", "extends", "allowed: default"),
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


@pytest.mark.parametrize(
    ("text", "line"),
    [("gate = [", 1), ("name = 'x'\n[gate]\nfail_on = 'low\n", 3), ("a = 1\nb = = 2\n", 2)],
)
def test_toml_syntax_error_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.file == f"{path}:{line}"
    assert str(info.value).startswith(f"{path}:{line}: syntax: not valid TOML")


# -- every key of every table: a bad type, an out-of-range value, an unknown key --------------


def _cases() -> list[tuple[str, str, object, str]]:
    """(table, key, bad value, expected words) for every field of every policy table; built
    from the dataclasses, so a field another team adds is covered without an edit here."""
    cases: list[tuple[str, str, object, str]] = []
    hints = typing.get_type_hints(Policy, include_extras=True)
    for f in dataclasses.fields(Policy):
        section = hints[f.name]
        if not dataclasses.is_dataclass(section):
            continue
        table_hints = typing.get_type_hints(section, include_extras=True)
        for g in dataclasses.fields(section):
            tp = table_hints[g.name]
            base, meta = _split(tp)
            origin = typing.get_origin(base)
            if base is str:
                cases.append((f.name, g.name, 7, "got 7"))
            elif base is bool:
                cases.append((f.name, g.name, "yes", "got 'yes'; allowed: true or false"))
            else:
                cases.append((f.name, g.name, "many", "got 'many'; allowed:"))
            if any(isinstance(m, Choice) for m in meta):
                cases.append((f.name, g.name, "no-such-choice", ", ".join(_choices(meta))))
            elif base in (int, float):
                low = [m for m in meta if isinstance(m, at.Ge | at.Gt)]
                high = [m for m in meta if isinstance(m, at.Le | at.Lt)]
                floor = low[0].ge if low and isinstance(low[0], at.Ge) else 0
                cases.append((f.name, g.name, base(floor) - 1, "got "))
                if high:
                    ceiling = high[0].le if isinstance(high[0], at.Le) else high[0].lt
                    cases.append((f.name, g.name, base(ceiling) * 2 + 1, "got "))
                if base is float:
                    cases.append((f.name, g.name, math.inf, "got inf; allowed: a finite number"))
            elif origin is tuple:
                cases.append((f.name, g.name, ["ok", ""], "a non-empty string"))
            elif origin is dict:
                cases.append((f.name, g.name, {"X1": "huge"}, "got 'huge'"))
        cases.append((f.name, "no_such_key", 1, "unknown key; allowed: "))
    return cases


def _choices(meta: tuple[object, ...]) -> tuple[str, ...]:
    return next(m.values for m in meta if isinstance(m, Choice))


@pytest.mark.parametrize(
    ("table", "key", "value", "words"),
    _cases(),
    ids=lambda v: str(v)[:24],
)
def test_every_policy_key_is_validated(table: str, key: str, value: object, words: str) -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_dict({table: {key: value}}, file="p.toml")
    assert info.value.file == "p.toml"
    assert info.value.key.startswith(f"{table}.{key}"), str(info.value)
    assert words in str(info.value)
    assert "allowed" in str(info.value)


def test_every_default_is_allowed() -> None:
    # The dataclass defaults pass their own constraints (a range that excludes its default
    # would make every policy without that key invalid).
    assert policy_from_dict(Policy().to_dict(), file="defaults") == replace(
        Policy(), source="defaults"
    )


def test_a_new_field_with_a_default_needs_no_second_edit() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Extra:
        workers: int = 2
        rate: float = 0.5
        mode: typing.Annotated[str, Choice(("a", "b"))] = "a"
        names: tuple[str, ...] = ()

    assert validate(Extra, {"workers": 3, "names": ["x"]}, "f") == Extra(workers=3, names=("x",))
    for table, words in [
        ({"workers": -1}, "workers: got -1; allowed: an integer >= 0"),
        ({"rate": math.inf}, "rate: got inf; allowed: a finite number >= 0"),
        ({"mode": "c"}, "mode: got 'c'; allowed: a, b"),
        ({"names": [""]}, "names[0]: got ''"),
        ({"other": 1}, "other: unknown key; allowed: workers, rate, mode, names"),
    ]:
        with pytest.raises(PolicyError, match=re.escape(words)):
            validate(Extra, table, "f")


def test_schema_lists_every_key_and_the_shipped_policies_satisfy_it() -> None:
    schema = policy_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    assert {"extends", "name", "description", "sandbox", "gate", "budget"} <= set(props)
    sandbox = schema["$defs"]["SandboxLimits"]["properties"]
    assert sandbox["memory_mb"]["minimum"] == 32
    assert sandbox["backend"]["enum"] == ["seccomp", "gvisor", "docker", "none"]
    for path in sorted(POLICY_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        jsonschema.validate(data, schema)
    bad = {"sandbox": {"memory_mb": 0}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


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


@pytest.mark.parametrize("name", ["default", "strict", "paper", "quick"])
def test_a_remembered_verdict_builds_the_same_policy(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("STOPBOX_NO_CACHE", raising=False)
    first = load_policy(name)  # pydantic; remembers the verdict
    assert len(list((tmp_path / "stopbox" / "policies").glob("*.valid"))) == 1
    again = load_policy(name)  # built from the table without pydantic
    assert again == first
    assert all(isinstance(v, float) for v in (again.sandbox.wall_s, again.budget.dollars))
    assert isinstance(again.imports.allow, tuple)


def test_an_invalid_table_is_never_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for _ in range(2):
        with pytest.raises(PolicyError):
            policy_from_dict({"sandbox": {"memory_mb": 0}})
    assert not list(tmp_path.rglob("*.valid"))
