"""`stopbox` console script.  Each subcommand lives in ``harness/commands/<name>.py`` and
registers itself on the app; this module only wires them and maps errors to exit codes:

* 0 — success (for ``audit``: nothing at/above ``--fail-on``; for ``exec``: status ok)
* 1 — the checked thing failed (findings, a non-ok status, something escaped)
* 2 — usage or internal error: one clear line on stderr, no traceback
"""

from __future__ import annotations

import os
import sys

import typer

from stopbox.harness.errors import StopboxError

__all__ = ["app", "main"]

app = typer.Typer(
    name="stopbox",
    help="Sandboxed, audited STOP runs and a static gate for untrusted Python.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from stopbox.harness import __version__

        print(f"stopbox {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Sandboxed, audited STOP runs and a static gate for untrusted Python.

    Shell completion: `stopbox --install-completion` (or `--show-completion` to print it).
    """


@app.command("version")
def version() -> None:
    """Print the stopbox version."""
    from stopbox.harness import __version__

    print(f"stopbox {__version__}")


_REGISTERED: set[str] = set()


def _register(command: str | None = None) -> None:
    """Register ``command`` only (its module alone is imported), or every command."""
    from stopbox.harness.commands import command_modules

    for module in command_modules(command):
        if module.__name__ not in _REGISTERED:
            module.register(app)
            _REGISTERED.add(module.__name__)


def _command_in(args: list[str]) -> str | None:
    """The subcommand named in ``args`` (None: help, completion or --version)."""
    if os.environ.get("_STOPBOX_COMPLETE"):
        return None
    return next((a for a in args if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    command = _command_in(args)
    if command == "version" or (command is None and {"--version", "-V"} & set(args)):
        pass  # defined here: importing the command modules would only slow it down
    else:
        _register(command)
    try:
        app(args=args, prog_name="stopbox")  # standalone: usage errors exit 2 by themselves
    except StopboxError as exc:
        print(f"stopbox: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        print("stopbox: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
