"""One style across commands (issue 12): options with a closed set of values list them in the
help text (`<text|json|...>`, not `<str>`), and a short flag means the same long flag in every
command.  Every command registered on the app is checked, so a new one is covered too."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from stopbox.harness.cli import _register, app

CLOSED_SETS = ("--format", "--backend", "--fail-on", "--prompt", "--executor")
SHORT_FLAGS = {
    "-f": "--format",
    "-o": "--out",
    "-p": "--policy",
    "-b": "--backend",
    "-j": "--jobs",
    "-n": "--samples",
    "-V": "--version",
}
# Commands whose owners were asked (coord/requests.md) to declare their choices; until then the
# check reports them as skipped, by name.
PENDING: dict[tuple[str, str], str] = {
    ("run", "--backend"): "real-models (harness/commands/run.py)",
    ("transfer", "--backend"): "real-models (harness/commands/run.py)",
    ("study bypass", "--prompt"): "real-models (harness/commands/study.py)",
    ("study bypass", "--backend"): "real-models (harness/commands/study.py)",
    ("study bypass", "--executor"): "real-models (harness/commands/study.py)",
    ("run", "--executor"): "real-models (harness/commands/run.py)",
    ("transfer", "--executor"): "real-models (harness/commands/run.py)",
    ("report", "--format"): "reporting (harness/commands/report.py)",
    ("compare", "--format"): "reporting (harness/commands/compare.py)",
}


def _commands() -> list[str]:
    _register()
    root = typer.main.get_command(app)
    names: list[str] = []

    def walk(group: object, prefix: str) -> None:
        for name, sub in getattr(group, "commands", {}).items():
            if getattr(sub, "commands", None):
                walk(sub, f"{prefix}{name} ")
            else:
                names.append(f"{prefix}{name}")

    walk(root, "")
    return names


def _help(command: str) -> str:
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def _options(helptext: str) -> list[tuple[list[str], str]]:
    """(flags, metavar) per option row of a rich help panel."""
    rows = []
    for line in helptext.splitlines():
        m = re.match(r"^│\s+((?:-{1,2}[\w-]+[\s,/]*)+)\s+(<[^>]*>)?", line)
        if m:
            rows.append((re.findall(r"-{1,2}[\w-]+", m.group(1)), m.group(2) or ""))
    return rows


@pytest.mark.parametrize("command", _commands())
def test_closed_sets_are_listed_and_short_flags_are_consistent(command: str) -> None:
    rows = _options(_help(command))
    assert rows, f"no options parsed from `stopbox {command} --help`"
    pending = []
    for flags, metavar in rows:
        for short, long in SHORT_FLAGS.items():
            if short in flags:
                assert long in flags, f"{command}: {short} means {long} everywhere, got {flags}"
        closed = next((f for f in flags if f in CLOSED_SETS), None)
        if closed is not None and metavar in ("<str>", "<text>", ""):
            if (command, closed) in PENDING:
                pending.append(f"{closed} (asked: {PENDING[command, closed]})")
                continue
            pytest.fail(f"`stopbox {command} {closed}` shows {metavar!r}, not its choices")
    if pending:
        pytest.skip(f"stopbox {command}: choices not declared yet: {', '.join(pending)}")


def test_root_help_and_version_flag() -> None:
    helptext = _help("")
    assert "--version" in helptext and "--install-completion" in helptext
