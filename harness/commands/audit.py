"""`stopbox audit` and `stopbox rules` (DESIGN.md §7)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import typer

from stopbox.harness.choices import BackendName, FailOn
from stopbox.harness.errors import PolicyError, UsageError

if TYPE_CHECKING:
    from stopbox.harness.commands._audit_config import AuditConfig, Loosening
    from stopbox.harness.policy import Policy


class AuditFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    md = "md"
    html = "html"
    github = "github"
    junit = "junit"


class RuleFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
    app.command("rules")(rules)


# The options of `stopbox audit`, declared once here so the command's signature stays short
# (each is typer's own OptionInfo, exactly as a default in the signature would be).
_PATHS = typer.Argument(
    ..., metavar="PATH...", help="Files or directories; - reads one program from stdin."
)
_POLICY = typer.Option(
    None,
    "--policy",
    "-p",
    help="Policy name (default, strict, paper, quick) or TOML file "
    "[default: the configuration's, else default].",
)
_FORMAT = typer.Option(AuditFormat.text, "--format", "-f", help="Report format.")
_OUT = typer.Option(None, "--out", "-o", help="Write the report here, not stdout.")
_FAIL_ON = typer.Option(
    None, "--fail-on", help="Exit 1 at or above this severity [default: the policy's]."
)
_EXECUTE = typer.Option(False, "--execute/--no-execute", help="Also run each file in the sandbox.")
_BACKEND = typer.Option(
    None, "--backend", "-b", help="Sandbox backend for --execute [default: the policy's]."
)
_BASELINE = typer.Option(None, "--baseline", help="Accept findings listed here.")
_WRITE_BASELINE = typer.Option(
    None, "--write-baseline", help="Write the current findings as the accepted baseline."
)
_EXCLUDE = typer.Option([], "--exclude", help="Glob of paths to skip (repeatable).")
_CONFIG = typer.Option(
    None,
    "--config",
    help="Read the settings from this file ([tool.stopbox] or top-level keys) instead of "
    "the closest pyproject.toml.",
)
_ISOLATED = typer.Option(
    False,
    "--isolated",
    help="Ignore every configuration file and .gitignore (CI: pass --policy explicitly).",
)


def audit(
    paths: list[str] = _PATHS,
    policy: str | None = _POLICY,
    fmt: AuditFormat = _FORMAT,
    out: Path | None = _OUT,
    fail_on: FailOn | None = _FAIL_ON,
    execute: bool = _EXECUTE,
    backend: BackendName | None = _BACKEND,
    baseline: Path | None = _BASELINE,
    write_baseline: Path | None = _WRITE_BASELINE,
    exclude: list[str] = _EXCLUDE,
    config: Path | None = _CONFIG,
    isolated: bool = _ISOLATED,
) -> None:
    """Statically inspect untrusted Python (and optionally run it sandboxed); a CI gate.

    Settings come from the command line, else from [tool.stopbox] (policy, fail-on, exclude,
    baseline) of the closest pyproject.toml above the first PATH, else from the policy.  Every
    loosening a configuration applies is printed on stderr and recorded in SARIF.

    Exit 0: nothing at or above --fail-on; 1: findings at or above it; 2: usage or internal
    error (a missing or unreadable PATH, or one that holds no Python file, is exit 2).
    """
    from stopbox.detectors._audit import failing
    from stopbox.detectors._baseline import filter_baseline
    from stopbox.detectors._baseline import write_baseline as save_baseline
    from stopbox.harness.commands._audit_config import collect_files

    _logs_to_stderr()
    if config is not None and isolated:
        raise UsageError("--config and --isolated: choose one (--isolated reads no config file)")
    if paths.count("-") > 1:
        raise UsageError("PATH - (stdin) given more than once")
    run = _resolve(paths, policy, fail_on, baseline, exclude, config, isolated)
    files_on_disk, gitignored = collect_files(
        paths, [e for e, _ in run.excludes], gitignore=not isolated
    )
    loose = _loosenings(run, gitignored)
    files = _inspect(paths, files_on_disk, run.policy, execute=execute, backend=backend)
    if write_baseline is not None:
        count = save_baseline(files, write_baseline)
        print(f"stopbox: wrote {count} finding(s) to baseline {write_baseline}", file=sys.stderr)
    if run.accepted is not None:
        filter_baseline(files, run.accepted)
    invocation = _invocation(run, isolated, loose)
    text = _render(files, fmt.value, run.threshold, execute=execute, out=out, invocation=invocation)
    _write(text, out)
    if write_baseline is None and failing(files, run.threshold):
        raise typer.Exit(1)


def _loosenings(run: _Settings, gitignored: int) -> list[Loosening]:
    """Every loosening the settings apply, each printed on stderr."""
    from stopbox.harness.commands._audit_config import loosenings

    loose = loosenings(
        run.policy,
        policy_source=run.policy_source,
        fail_on=run.threshold,
        fail_on_source=run.threshold_source,
        excludes=run.excludes,
        baseline=run.baseline,
        gitignored=gitignored,
    )
    for item in loose:
        print(f"stopbox: loosened: {item}", file=sys.stderr)
    return loose


@dataclass(frozen=True, slots=True)
class _Settings:
    """What one audit runs with, each setting with where it came from (for the loosenings)."""

    policy: Policy
    policy_source: str
    threshold: str
    threshold_source: str
    excludes: list[tuple[str, str]]
    baseline: tuple[Path, str] | None
    accepted: Any
    config_file: Path | None


def _resolve(
    paths: list[str],
    policy: str | None,
    fail_on: FailOn | None,
    baseline: Path | None,
    exclude: list[str],
    config: Path | None,
    isolated: bool,
) -> _Settings:
    """The command line, else the configuration file's [tool.stopbox], else the policy."""
    from stopbox.detectors._baseline import read_baseline
    from stopbox.harness.commands._audit_config import display
    from stopbox.harness.policy import load_policy

    settings = _read_config(paths, config, isolated)
    where = f"{display(settings.file)} [tool.stopbox]" if settings.file else ""
    policy_name = policy or settings.policy or "default"
    try:
        pol = load_policy(policy_name)
    except PolicyError as exc:
        if policy or not where:
            raise
        raise UsageError(f"{where}: policy: {exc}") from None
    policy_source = (
        "the default policy"
        if policy_name == "default"
        else f"policy {policy_name}" + (f" (from {where})" if not policy and where else "")
    )
    if fail_on is not None:
        threshold, threshold_source = fail_on.value, "--fail-on"
    elif settings.fail_on is not None:
        threshold, threshold_source = settings.fail_on, where
    else:
        threshold, threshold_source = pol.gate.fail_on, policy_source
    excludes = [(e, "--exclude") for e in exclude] + [(e, where) for e in settings.exclude]
    accepted_file: tuple[Path, str] | None = None
    if baseline is not None:
        accepted_file = (baseline, "--baseline")
    elif settings.baseline is not None:
        accepted_file = (settings.baseline, where)
    accepted = read_baseline(accepted_file[0]) if accepted_file is not None else None
    return _Settings(pol, policy_source, threshold, threshold_source, excludes, accepted_file,
                     accepted, settings.file)  # fmt: skip


def _read_config(paths: list[str], config: Path | None, isolated: bool) -> AuditConfig:
    """--config FILE, else the closest pyproject.toml above the first PATH (not --isolated)."""
    from stopbox.harness.commands._audit_config import AuditConfig, find_config, load_config

    if config is not None:
        return load_config(config, explicit=True)
    if not isolated:
        start = Path(next((p for p in paths if p != "-"), "."))
        found = find_config(start if start.exists() else Path("."))
        if found is not None:
            return load_config(found, explicit=False)
    return AuditConfig()


def _inspect(
    paths: list[str],
    files_on_disk: list[Path],
    pol: Policy,
    *,
    execute: bool,
    backend: BackendName | None,
) -> list[Any]:
    """Scan the files (and stdin for ``-``, at its place); with --execute, also run each in the
    sandbox (``backend``, else the policy's)."""
    from stopbox.detectors._audit import audit_paths

    files: list[Any] = []
    sources: dict[str, str] = {}
    if files_on_disk:
        with _progress_bar() as progress:
            files, sources = audit_paths(files_on_disk, pol, progress=progress)
    if "-" in paths:
        report, source = _audit_stdin(pol)
        files.insert(0 if paths[0] == "-" else len(files), report)
        if source is not None:
            sources[report.path] = source
    if execute:
        from stopbox.harness.commands._execute import execute_reports

        files = execute_reports(
            files, sources, pol, backend.value if backend else pol.sandbox.backend
        )
    return files


def _invocation(run: _Settings, isolated: bool, loose: list[Loosening]) -> dict[str, Any]:
    """SARIF's invocation: the settings used and every loosening as a notification."""
    return {
        "properties": {
            "policy": run.policy.name,
            "policySource": run.policy.source,
            "failOn": run.threshold,
            "configFile": str(run.config_file) if run.config_file else None,
            "isolated": isolated,
            "loosenings": [item.to_json() for item in loose],
        },
        "toolConfigurationNotifications": [
            {
                "descriptor": {"id": f"stopbox/loosened/{item.kind}"},
                "level": "warning",
                "message": {"text": f"loosened: {item}"},
            }
            for item in loose
        ],
    }


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write: {exc.strerror or exc}") from None


def _render(
    files: list[Any],
    fmt: str,
    threshold: str,
    *,
    execute: bool,
    out: Path | None,
    invocation: dict[str, Any],
) -> str:
    from stopbox.harness.reporting.audit import render_audit

    if fmt == "sarif":
        from stopbox.harness.reporting.sarif import render_sarif

        return render_sarif(files, invocation=invocation)
    if fmt == "github":
        from stopbox.harness.reporting.github import render_github

        notes = invocation["toolConfigurationNotifications"]
        return render_github(files, threshold, notices=[n["message"]["text"] for n in notes])
    if fmt == "junit":
        from stopbox.harness.reporting.junit import render_junit

        return render_junit(files, threshold)
    color = out is None and fmt == "text" and sys.stdout.isatty()
    return render_audit(files, fmt, threshold, execute=execute, color=color)


def _audit_stdin(policy: Any) -> tuple[Any, str | None]:
    """Audit the program on standard input (``stopbox audit -``) as the file ``<stdin>``."""
    import io
    import tokenize

    from stopbox.detectors import FileReport
    from stopbox.detectors._registry import rule_by_id
    from stopbox.detectors._scan import parse_error_finding, scan
    from stopbox.harness.reporting.sarif import STDIN

    data = sys.stdin.buffer.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        source = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        problem = f"cannot be decoded as Python source ({exc}); it must not run"
        finding = parse_error_finding(rule_by_id("EVA002"), 1, 1, problem, "")
        return FileReport(STDIN, (finding,)), None
    findings = tuple(scan(source, STDIN, policy))
    return FileReport(STDIN, findings, lines=source.count("\n") + 1), source


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
            # structlog only calls write() and flush() on it
            logger_factory=structlog.PrintLoggerFactory(cast(TextIO, _CurrentStderr())),
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        )


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is logged (not the stream at configuration time,
    which an embedding program or a test may have closed since)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def rules(
    fmt: RuleFormat = typer.Option(RuleFormat.text, "--format", "-f", help="Output format."),
) -> None:
    """List every rule: id, name, category, severity and description."""
    from stopbox.detectors import all_rules
    from stopbox.harness.reporting.audit import render_rules

    sys.stdout.write(render_rules(all_rules(), fmt.value))
