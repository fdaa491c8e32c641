"""`stopbox audit` and `stopbox rules` (DESIGN.md §7)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from stopbox.harness.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
    app.command("rules")(rules)


def audit(
    paths: list[str] = typer.Argument(..., metavar="PATH...", help="Files or directories."),
    policy: str | None = typer.Option(None, "--policy", help="Policy name or TOML file."),
    fmt: str = typer.Option("text", "--format", help="text, json, sarif, md or html."),
    out: Path | None = typer.Option(None, "--out", help="Write the report here, not stdout."),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help="low, medium, high or critical (default: the policy's)."
    ),
    execute: bool = typer.Option(
        False, "--execute/--no-execute", help="Also run each file in the sandbox."
    ),
    backend: str | None = typer.Option(None, "--backend", help="Sandbox backend for --execute."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Accept findings listed here."),
    write_baseline: Path | None = typer.Option(
        None, "--write-baseline", help="Write the current findings as the accepted baseline."
    ),
    exclude: list[str] = typer.Option([], "--exclude", help="Glob of paths to skip (repeatable)."),
) -> None:
    """Statically inspect untrusted Python (and optionally run it sandboxed); a CI gate.

    Exit 0: nothing at or above --fail-on; 1: findings at or above it; 2: usage or internal
    error (a missing or unreadable PATH is exit 2).
    """
    from stopbox.detectors._audit import audit_paths, execute_reports, failing
    from stopbox.detectors._baseline import filter_baseline, read_baseline
    from stopbox.detectors._baseline import write_baseline as save_baseline
    from stopbox.harness.policy import SEVERITIES, load_policy
    from stopbox.harness.reporting.audit import AUDIT_FORMATS, render_audit

    _logs_to_stderr()
    if fmt not in AUDIT_FORMATS:
        raise UsageError(f"--format {fmt!r}; allowed: {', '.join(AUDIT_FORMATS)}")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on {fail_on!r}; allowed: {', '.join(SEVERITIES)}")
    pol = load_policy(policy)
    threshold = fail_on or pol.gate.fail_on
    accepted = read_baseline(baseline) if baseline is not None else None
    with _progress_bar() as progress:
        files, sources = audit_paths(paths, pol, excludes=exclude, progress=progress)
    if execute:
        files = execute_reports(files, sources, pol, backend or pol.sandbox.backend)
    if write_baseline is not None:
        count = save_baseline(files, write_baseline)
        print(f"stopbox: wrote {count} finding(s) to baseline {write_baseline}", file=sys.stderr)
    if accepted is not None:
        filter_baseline(files, accepted)
    color = out is None and fmt == "text" and sys.stdout.isatty()
    text = render_audit(files, fmt, threshold, execute=execute, color=color)
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    if write_baseline is None and failing(files, threshold):
        raise typer.Exit(1)


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr for long cold audits (only when stderr is a terminal)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("scanning", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _logs_to_stderr() -> None:
    """stdout carries the report (JSON, SARIF): library logs go to stderr, warnings and up."""
    import logging

    import structlog

    if not structlog.is_configured():
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(sys.stderr),
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        )


def rules(
    fmt: str = typer.Option("text", "--format", help="text, json or md."),
) -> None:
    """List every rule: id, name, category, severity and description."""
    from stopbox.detectors import all_rules
    from stopbox.harness.reporting.audit import RULE_FORMATS, render_rules

    if fmt not in RULE_FORMATS:
        raise UsageError(f"--format {fmt!r}; allowed: {', '.join(RULE_FORMATS)}")
    sys.stdout.write(render_rules(all_rules(), fmt))
