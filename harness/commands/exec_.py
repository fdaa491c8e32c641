"""`stopbox exec FILE [--entry NAME] [--args JSON] [--backend B] [--policy FILE] [--json]
[--unsafe-no-sandbox]`: run one untrusted file in the sandbox (DESIGN.md §7).

Without ``--entry`` the file runs as a script (``__main__``).  ``--args`` is a JSON array of
positional arguments or a JSON object of keyword arguments.  Exit 0 when the status is ok, 1 for
any other status, 2 for usage or internal errors (missing file, syntax error, bad JSON, unknown
backend, malformed policy, backend unavailable).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from stopbox.harness.errors import SandboxError, StopboxError, UsageError
from stopbox.harness.policy import load_policy
from stopbox.harness.sandbox import ExecResult, Status, started

__all__ = ["register", "exec_command", "read_source", "parse_args", "jsonable"]


def read_source(file: Path) -> str:
    """The file's text, checked to compile; UsageError naming the file (and line) otherwise."""
    try:
        source = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{file}: is a directory, expected a Python file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{file}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UsageError(f"{file}: cannot read ({exc.strerror})") from None
    try:
        compile(source, str(file), "exec", dont_inherit=True)  # compiling never runs code
    except SyntaxError as exc:
        raise UsageError(
            f"{file}:{exc.lineno}:{exc.offset or 0}: syntax error: {exc.msg}"
        ) from None
    except ValueError as exc:  # e.g. null bytes
        raise UsageError(f"{file}: cannot compile: {exc}") from None
    return source


def parse_args(text: str | None) -> tuple[list[Any], dict[str, Any]]:
    """``--args``: a JSON array (positional) or object (keyword arguments)."""
    if text is None:
        return [], {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--args: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(value, list):
        return value, {}
    if isinstance(value, dict):
        return [], value
    raise UsageError("--args: expected a JSON array (positional) or object (keyword arguments)")


def jsonable(value: Any) -> Any:
    """A result value as plain JSON: arrays and tuples become lists, non-finite floats tagged."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: jsonable(v) for k, v in value.items()}
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return jsonable(value.tolist())
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0, 9), *range(11, 32), *range(127, 160))}
"""Control characters (all but tab and newline) shown escaped: untrusted output must not drive
the terminal (clear the screen, rewrite a line to fake ``status: ok``, set the clipboard)."""


def _safe(text: str) -> str:
    """Printable on any terminal: control characters and lone surrogates shown escaped."""
    return text.translate(_CONTROL).encode("utf-8", "backslashreplace").decode("utf-8")


def _human(result: ExecResult, backend: str) -> str:
    lines = [f"status: {result.status.value} ({backend}, {result.wall_s * 1000:.1f} ms)"]
    if result.value is not None:
        lines.append(f"value: {_safe(repr(result.value))}")
    if result.stdout:
        lines.append("--- stdout ---\n" + _safe(result.stdout.rstrip("\n")))
    if result.stderr:
        lines.append("--- stderr ---\n" + _safe(result.stderr.rstrip("\n")))
    if result.truncated:
        lines.append("(output truncated at the policy's output cap)")
    if result.error and not result.ok:
        lines.append("--- error ---\n" + _safe(result.error.rstrip("\n")))
    for v in result.violations:
        lines.append(_safe(f"violation: {v.get('kind')}: {v.get('detail')}"))
    audit = [e for e in result.events if e.get("kind") != "sandbox"]
    if audit:
        lines.append(f"events: {len(audit)} (use --json to see them)")
    return "\n".join(lines)


def exec_command(
    file: Path = typer.Argument(..., help="The untrusted Python file to run."),
    entry: str | None = typer.Option(None, "--entry", help="Function to call (else: as script)."),
    args: str | None = typer.Option(None, "--args", help="JSON array or object of arguments."),
    backend: str | None = typer.Option(
        None,
        "--backend",
        "-b",
        metavar="<seccomp|gvisor|docker|none>",
        help="Sandbox backend (default: the policy's).",
    ),  # fmt: skip
    policy: str | None = typer.Option(None, "--policy", "-p", help="Policy name or TOML file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    unsafe: bool = typer.Option(
        False, "--unsafe-no-sandbox", help="Allow --backend none (runs in this process)."
    ),
) -> None:
    """Run one untrusted file in the sandbox and print its result.

    With ``--json`` the answer is always one JSON object with ``status``, ``violations`` and
    ``layers``, whatever the program did and even when the machinery failed (then ``status`` is
    ``error``, ``error`` says why, and the exit code is 2)."""
    try:
        result, name = _run(file, entry, args, backend, policy, unsafe)
    except StopboxError as exc:
        if as_json:
            print(_dumps(ExecResult(Status.ERROR, error=str(exc)).to_json()))
            raise typer.Exit(2) from None
        raise
    except Exception as exc:  # noqa: BLE001 - the harness answers even when its machinery breaks
        if as_json:
            print(_dumps(ExecResult(Status.ERROR, error=f"internal error: {exc!r}").to_json()))
            raise typer.Exit(2) from None
        raise SandboxError(f"internal error: {exc!r}") from None
    if as_json:
        out = result.to_json()
        out["value"] = jsonable(result.value)
        print(_dumps(out))
    else:
        print(_human(result, name))
    if not result.ok:
        raise typer.Exit(1)


def _run(
    file: Path, entry: str | None, args: str | None, backend: str | None, policy: str | None,
    unsafe: bool,
) -> tuple[ExecResult, str]:  # fmt: skip
    pol = load_policy(policy)
    source = read_source(file)
    positional, keywords = parse_args(args)
    if args is not None and entry is None:
        raise UsageError("--args needs --entry (a script takes no arguments)")
    name = backend or pol.sandbox.backend
    extra: dict[str, Any] = {"unsafe": True} if name == "none" and unsafe else {}
    with started(name, pol, pool_size=1, **extra) as sandbox:
        result = sandbox.exec(
            source, entry=entry, args=positional, kwargs=keywords, filename=file.name
        )
    return result, name


def _dumps(obj: dict[str, Any]) -> str:
    """One line of strict JSON (no NaN), whatever the result holds."""
    try:
        return json.dumps(jsonable(obj), default=repr, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as exc:
        fallback = {k: obj.get(k) for k in ("status", "error", "layers")}
        fallback["violations"] = [
            {k: str(v) for k, v in dict(x).items()} for x in obj.get("violations") or ()
        ]
        fallback["value"] = None
        fallback["error"] = f"{obj.get('error') or ''} (result not JSON-serialisable: {exc})"
        return json.dumps(fallback, default=str)


def register(app: typer.Typer) -> None:
    app.command("exec")(exec_command)
