"""`stopbox selfcheck [--backend B] [--json]`: run the shipped attack programs against this
installation's sandbox and check from outside that every one was contained.

Prints one line per attack and ``contained K/N (backend)``; exit 0 when everything was
contained, 1 when anything escaped, 2 when the backend cannot start.  Run it after installing
and after every kernel, runsc or docker upgrade.
"""

from __future__ import annotations

import dataclasses
import json

import typer
from rich.console import Console

from stopbox.harness.errors import UsageError
from stopbox.harness.policy import Policy, load_policy
from stopbox.harness.sandbox import started
from stopbox.harness.sandbox.selfcheck._containment import ATTACKS, Arena, Verdict

__all__ = ["register", "selfcheck_command", "selfcheck_policy", "run_selfcheck"]


def selfcheck_policy(base: Policy) -> Policy:
    """The policy with limits that keep the check quick (timeouts end in about a second)."""
    limits = dataclasses.replace(
        base.sandbox, call_timeout_s=1.5, wall_s=10.0, cpu_s=5, memory_mb=512, pool_size=2
    )
    return dataclasses.replace(base, sandbox=limits)


def run_selfcheck(backend: str, policy: Policy, console: Console | None = None) -> list[Verdict]:
    """Every attack against ``backend``; prints progress lines when a console is given."""
    verdicts = []
    with started(backend, policy, pool_size=2) as sandbox, Arena(sandbox, timeout=1.5) as arena:
        for attack in ATTACKS:
            verdict = arena.run(attack)
            verdicts.append(verdict)
            if console is not None:
                mark = "[green]contained[/]" if verdict.contained else "[bold red]ESCAPED[/]"
                status = verdict.result.status.value if verdict.result else "-"
                line = f"{mark}  {attack.id:<20} {attack.title} [dim]({status})[/]"
                console.print(line, highlight=False)
                for why in verdict.escapes:
                    console.print(f"           [red]{why}[/]", highlight=False)
    return verdicts


def selfcheck_command(
    backend: str | None = typer.Option(None, "--backend", help="seccomp, gvisor or docker."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check that this installation's sandbox contains the shipped attack programs."""
    base = load_policy(None)
    name = backend or base.sandbox.backend
    if name == "none":
        raise UsageError("backend 'none' has no sandbox to check; use seccomp, gvisor or docker")
    console = None if as_json else Console(highlight=False, soft_wrap=True)
    verdicts = run_selfcheck(name, selfcheck_policy(base), console)
    contained = sum(v.contained for v in verdicts)
    if as_json:
        print(json.dumps({
            "backend": name,
            "contained": contained,
            "total": len(verdicts),
            "attacks": [v.to_json() for v in verdicts],
        }))  # fmt: skip
    else:
        print(f"contained {contained}/{len(verdicts)} ({name})")
    if contained != len(verdicts):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("selfcheck")(selfcheck_command)
