"""CLI subcommands, one module each; every module has ``register(app)``.

:data:`COMMANDS` maps each command to the module that registers it, so `stopbox audit` imports
only ``commands/audit.py`` (the gate's start-up time) while help and completion import them all.
A new command: its module here, one line in :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["COMMANDS", "command_modules"]

COMMANDS: dict[str, str] = {
    "exec": "exec_",
    "selfcheck": "selfcheck",
    "audit": "audit",
    "rules": "audit",
    "run": "run",
    "transfer": "run",
    "study": "study",
    "report": "report",
    "compare": "compare",
    "policy": "policy_cmd",
}


def command_modules(command: str | None = None) -> list[ModuleType]:
    """The module registering ``command``; every command module when it is None or unknown."""
    names = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def __getattr__(name: str) -> Any:
    if name == "COMMAND_MODULES":  # the former eager tuple
        return tuple(command_modules())
    raise AttributeError(name)
