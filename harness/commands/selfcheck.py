"""`stopbox selfcheck [--backend B] [--json]`: run the shipped attack programs against this
installation's sandbox and check from outside that every one was contained.

Prints the confinement layers that applied, one line per attack and ``contained K/N
(backend)``; exit 0 when everything was contained, 1 when anything escaped, 2 when the backend
cannot start.  Run it after installing and after every kernel, runsc or docker upgrade.
"""

from __future__ import annotations

import dataclasses
import json

import typer
from rich.console import Console
from rich.markup import escape

from stopbox.harness.commands.exec_ import _safe
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


def run_selfcheck(
    backend: str,
    policy: Policy,
    console: Console | None = None,
    layers: dict[str, list[str]] | None = None,
) -> list[Verdict]:
    """Every attack against ``backend``; prints progress lines when a console is given.

    ``layers``, when given, is filled with the confinement layers a plain job got on this
    backend (``{"applied": [...], "missing": [...]}``)."""
    verdicts = []
    with started(backend, policy, pool_size=2) as sandbox, Arena(sandbox, timeout=1.5) as arena:
        if layers is not None:
            layers.update(sandbox.exec("def f():\n    return 1\n", entry="f").layers)
            if console is not None:
                applied = ", ".join(layers.get("applied", [])) or "none"
                missing = ", ".join(layers.get("missing", [])) or "none"
                console.print(f"layers applied: {applied}", highlight=False)
                console.print(f"layers missing: {missing}", highlight=False)
        for attack in ATTACKS:
            verdict = arena.run(attack)
            verdicts.append(verdict)
            if console is not None:
                mark = "[green]contained[/]" if verdict.contained else "[bold red]ESCAPED[/]"
                status = verdict.result.status.value if verdict.result else "-"
                line = f"{mark}  {attack.id:<20} {attack.title} [dim]({status})[/]"
                console.print(line, highlight=False)
                for why in verdict.escapes:
                    # escape: a reason may quote job-made text (a process name, a path)
                    console.print(f"           [red]{escape(_safe(why))}[/]", highlight=False)
    return verdicts


def selfcheck_command(
    backend: str | None = typer.Option(
        None, "--backend", "-b", metavar="<seccomp|gvisor|docker>", help="Backend to check."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check that this installation's sandbox contains the shipped attack programs."""
    base = load_policy(None)
    name = backend or base.sandbox.backend
    if name == "none":
        raise UsageError("backend 'none' has no sandbox to check; use seccomp, gvisor or docker")
    console = None if as_json else Console(highlight=False, soft_wrap=True)
    layers: dict[str, list[str]] = {}
    verdicts = run_selfcheck(name, selfcheck_policy(base), console, layers)
    contained = sum(v.contained for v in verdicts)
    if as_json:
        print(json.dumps({
            "backend": name,
            "contained": contained,
            "total": len(verdicts),
            "layers": layers,
            "attacks": [v.to_json() for v in verdicts],
        }))  # fmt: skip
    else:
        print(f"contained {contained}/{len(verdicts)} ({name})")
    if contained != len(verdicts):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("selfcheck")(selfcheck_command)
