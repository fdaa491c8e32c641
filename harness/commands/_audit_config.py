"""Audit configuration: ``[tool.stopbox]`` in pyproject.toml, ``--config FILE``, ``--isolated``;
the files to audit (``.gitignore`` respected); every loosening a configuration applies.

Configuration lives in the code under audit, so a change can loosen its own gate.  Local use
finds the closest ``pyproject.toml`` with a ``[tool.stopbox]`` table from the audited path upward;
CI passes ``--isolated`` (no configuration file, no ``.gitignore``) with an explicit
``--policy``.  Whatever loosens the gate (a higher fail-on than the default policy's, excludes,
a baseline, files skipped by ``.gitignore``, rules a policy disables or re-ranks lower, imports,
module attributes, syscalls, paths or missing sandbox layers it allows beyond the default policy)
is a :class:`Loosening`: printed on stderr and recorded in SARIF.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stopbox.harness.errors import UsageError
from stopbox.harness.severity import SEVERITIES, at_least

__all__ = ["AuditConfig", "Loosening", "load_config", "find_config", "collect_files", "loosenings"]

CONFIG_KEYS = ("policy", "fail-on", "exclude", "baseline")


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """The audit settings a configuration file gives (None: not set there)."""

    file: Path | None = None
    policy: str | None = None
    fail_on: str | None = None
    exclude: tuple[str, ...] = ()
    baseline: Path | None = None


@dataclass(frozen=True, slots=True)
class Loosening:
    """One way the effective gate is looser than the default policy with no configuration."""

    kind: str
    """``fail-on``, ``exclude``, ``baseline``, ``gitignore``, ``rule-disabled``,
    ``rule-reranked``, ``import-allowed``, ``surface-allowed``, ``syscall-allowed``,
    ``path-readable``, ``path-writable``, ``layers-optional``."""
    detail: str
    source: str
    """Where it comes from: a configuration file, a policy file, the command line, .gitignore."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "source": self.source, **self.extra}

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail} (from {self.source})"


def find_config(start: Path) -> Path | None:
    """The closest pyproject.toml with a ``[tool.stopbox]`` table from ``start`` upward."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            data = _read(candidate)
            if isinstance(data.get("tool"), dict) and "stopbox" in data["tool"]:
                return candidate
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def load_config(path: Path, *, explicit: bool) -> AuditConfig:
    """Read the audit settings of ``path``: its ``[tool.stopbox]`` table, or (``--config`` of a
    file without one) its top-level keys.  Unknown keys and bad values are exit 2."""
    if explicit and not path.is_file():
        raise UsageError(f"--config {path}: no such file")
    data = _read(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and "stopbox" in tool:
        table, where = tool["stopbox"], f"{path} [tool.stopbox]"
    elif explicit and path.name != "pyproject.toml":
        table, where = data, str(path)
    else:
        raise UsageError(f"{path}: no [tool.stopbox] table")
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("_", "-")
        if name not in CONFIG_KEYS:
            raise UsageError(f"{where}: {key}: unknown key; allowed: {', '.join(CONFIG_KEYS)}")
        values[name] = value
    base = path.parent
    policy = values.get("policy")
    if policy is not None:
        if not isinstance(policy, str) or not policy:
            raise UsageError(f"{where}: policy: got {policy!r}; allowed: a policy name or path")
        if "/" in policy or policy.endswith(".toml"):
            policy = str(base / policy) if not Path(policy).is_absolute() else policy
    fail_on = values.get("fail-on")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise UsageError(f"{where}: fail-on: got {fail_on!r}; allowed: {', '.join(SEVERITIES)}")
    exclude = values.get("exclude", [])
    if isinstance(exclude, str):
        exclude = [exclude]
    if not isinstance(exclude, list) or not all(isinstance(e, str) and e for e in exclude):
        raise UsageError(f"{where}: exclude: got {exclude!r}; allowed: a list of globs")
    baseline = values.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline):
        raise UsageError(f"{where}: baseline: got {baseline!r}; allowed: a path")
    return AuditConfig(
        file=path,
        policy=policy,
        fail_on=fail_on,
        exclude=tuple(exclude),
        baseline=(base / baseline) if baseline else None,
    )


# -- files ----------------------------------------------------------------------------------


class _GitIgnore:
    """``.gitignore`` files from the repository root (the closest ``.git`` above) down to each
    file; a deeper file's patterns override a shallower one's, as git does."""

    def __init__(self, top: Path) -> None:
        self.top = top.resolve()
        self.root = next(
            (d for d in (self.top, *self.top.parents) if (d / ".git").exists()), self.top
        )
        self._specs: dict[Path, Any] = {}

    def _spec(self, directory: Path) -> Any:
        if directory not in self._specs:
            import pathspec

            ignore = directory / ".gitignore"
            spec = None
            if ignore.is_file():
                try:
                    lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    lines = []
                spec = pathspec.GitIgnoreSpec.from_lines(lines)
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, file: Path) -> bool:
        path = file.resolve()
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return False
        status: bool | None = None
        directory = self.root
        for part in (None, *rel.parts[:-1]):
            if part is not None:
                directory = directory / part
            spec = self._spec(directory)
            if spec is None:
                continue
            result = spec.check_file(path.relative_to(directory).as_posix())
            if result.include is not None:
                status = result.include
        return bool(status)


def collect_files(
    paths: Sequence[str], excludes: Sequence[str], *, gitignore: bool
) -> tuple[list[Path], int]:
    """The Python files to audit under ``paths`` (``-`` excluded: stdin is read elsewhere) and
    how many ``.gitignore`` skipped.  A PATH that holds no Python file to audit is exit 2."""
    from stopbox.detectors._audit import discover

    files: list[Path] = []
    skipped = 0
    for raw in paths:
        if raw == "-":
            continue
        found = discover([raw], excludes)
        path = Path(raw)
        if gitignore and path.is_dir():
            rules = _GitIgnore(path)
            kept = [f for f in found if not rules.ignored(f)]
            skipped += len(found) - len(kept)
            if found and not kept:
                raise UsageError(
                    f"{raw}: every Python file under it is ignored by .gitignore "
                    "(--isolated audits them)"
                )
            found = kept
        if not found:
            if path.is_dir() and any(path.rglob("*.py")):
                raise UsageError(f"{raw}: every Python file under it is excluded (--exclude)")
            raise UsageError(f"{raw}: holds no Python file")
        files += found
    return files, skipped


# -- loosenings -----------------------------------------------------------------------------


_WIDENED = (
    ("import-allowed", "imports allowed beyond the default policy", "imports", "allow"),
    ("surface-allowed", "module attributes allowed beyond the built-in surfaces", "imports",
     "surface_allow"),
    ("syscall-allowed", "syscalls taken off the sandbox's deny list", "syscalls", "allow"),
    ("path-readable", "extra paths readable in the sandbox", "paths", "read"),
    ("path-writable", "extra paths writable in the sandbox", "paths", "write"),
    ("layers-optional", "confinement layers the sandbox may run without", "sandbox",
     "allow_missing_layers"),
)  # fmt: skip
"""(kind, words, policy table, key): allow-lists a policy may widen beyond the default's."""


def loosenings(
    policy: Any,
    *,
    policy_source: str,
    fail_on: str,
    fail_on_source: str,
    excludes: Sequence[tuple[str, str]],
    baseline: tuple[Path, str] | None,
    gitignored: int,
) -> list[Loosening]:
    """Every way the effective gate is looser than the default policy with no configuration."""
    from stopbox.harness.policy import default_policy

    reference = default_policy()
    return [
        *_settings_loosened(reference, fail_on, fail_on_source, excludes, baseline, gitignored),
        *_rules_loosened(policy, reference, policy_source),
        *_allow_lists_widened(policy, reference, policy_source),
    ]


def _settings_loosened(
    reference: Any,
    fail_on: str,
    fail_on_source: str,
    excludes: Sequence[tuple[str, str]],
    baseline: tuple[Path, str] | None,
    gitignored: int,
) -> list[Loosening]:
    """A later --fail-on, excluded files, a baseline, files skipped by .gitignore."""
    out: list[Loosening] = []
    if not at_least(reference.gate.fail_on, fail_on):  # fails later than the default
        out.append(
            Loosening(
                "fail-on",
                f"fails only at {fail_on} or above (default policy: {reference.gate.fail_on})",
                fail_on_source,
                {"value": fail_on, "default": reference.gate.fail_on},
            )
        )
    for pattern, source in excludes:
        out.append(Loosening("exclude", f"files matching {pattern!r} are not audited", source))
    if baseline is not None:
        out.append(
            Loosening("baseline", f"findings listed in {baseline[0]} are accepted", baseline[1])
        )
    if gitignored:
        out.append(
            Loosening(
                "gitignore",
                f"{gitignored} Python file(s) ignored by .gitignore are not audited",
                ".gitignore",
                {"files": gitignored},
            )
        )
    return out


def _rules_loosened(policy: Any, reference: Any, policy_source: str) -> list[Loosening]:
    """Rules the policy disables, or re-ranks below their default severity."""
    from stopbox.detectors import all_rules

    out: list[Loosening] = []
    defaults = {info.id: info.severity.value for info in all_rules()}
    for rule in policy.rules.disable:
        if rule not in reference.rules.disable:
            out.append(Loosening("rule-disabled", f"rule {rule} does not run", policy_source))
    for rule, severity in sorted(policy.rules.severity.items()):
        before = reference.rules.severity.get(rule, defaults.get(rule))
        if before is not None and not at_least(severity, before):
            out.append(
                Loosening(
                    "rule-reranked",
                    f"rule {rule} reports {severity} instead of {before}",
                    policy_source,
                    {"rule": rule, "severity": severity, "default": before},
                )
            )
    return out


def _allow_lists_widened(policy: Any, reference: Any, policy_source: str) -> list[Loosening]:
    out: list[Loosening] = []
    for kind, words, table, key in _WIDENED:
        mine = getattr(getattr(policy, table), key, ())
        default = getattr(getattr(reference, table), key, ())
        extra = sorted(set(mine) - set(default))
        if extra:
            out.append(
                Loosening(kind, f"{words}: {', '.join(extra)}", policy_source, {"values": extra})
            )
    return out


def display(path: Path | str) -> str:
    """A path relative to the working directory when it is under it (absolute otherwise)."""
    cwd = Path.cwd()
    resolved = Path(path).resolve()
    if cwd != Path(cwd.anchor) and resolved.is_relative_to(cwd):
        return os.path.relpath(resolved, cwd)
    return str(resolved)
