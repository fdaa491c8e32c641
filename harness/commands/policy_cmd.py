"""`stopbox policy schema`: the JSON Schema of a policy file, for editors (DESIGN.md §7)."""

from __future__ import annotations

import json
import sys

import typer

__all__ = ["register"]

policy_app = typer.Typer(
    name="policy", help="Policy files: their JSON Schema.", no_args_is_help=True
)


@policy_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a policy file (every key, its type, range and default)."""
    from stopbox.harness.policy import policy_json_schema

    sys.stdout.write(json.dumps(policy_json_schema(), indent=2) + "\n")


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
