"""Policies: declarative TOML files validated into a frozen :class:`Policy`.

A policy is data only.  Unknown keys and bad values raise :class:`PolicyError` naming the file,
the key and what is allowed.  ``extends = "default"`` (or a path) merges the named policy first;
tables merge key by key, lists are replaced.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any

from annotated_types import Ge, Gt, Le, MinLen

from stopbox.harness._policy_schema import Choice, json_schema, validate
from stopbox.harness._resources import data_dir
from stopbox.harness.choices import BACKEND_NAMES
from stopbox.harness.errors import PolicyError
from stopbox.harness.severity import SEVERITIES

__all__ = [
    "Policy",
    "ImportsPolicy",
    "RulesPolicy",
    "GatePolicy",
    "SandboxLimits",
    "PathsPolicy",
    "SyscallPolicy",
    "BudgetPolicy",
    "SEVERITIES",
    "BACKENDS",
    "POLICY_DIR",
    "load_policy",
    "default_policy",
    "policy_from_dict",
    "policy_json_schema",
]

POLICY_DIR = data_dir("policies")
BACKENDS = BACKEND_NAMES
ON_BLOCKING = ("block", "record")

# Field types with their allowed values (validated by harness/_policy_schema.py; a field
# without a declared range must be a finite number >= 0).
SeverityName = Annotated[str, Choice(SEVERITIES)]
"""A severity's name (:class:`~stopbox.harness.severity.Severity`), as policy files write it."""
Seconds = Annotated[float, Gt(0), Le(86_400)]
Name = Annotated[str, MinLen(1)]


@dataclass(frozen=True, slots=True)
class ImportsPolicy:
    allow: tuple[str, ...] = (
        "math", "cmath", "random", "statistics", "fractions", "decimal", "numbers", "itertools",
        "functools", "operator", "collections", "heapq", "bisect", "array", "copy", "enum",
        "abc", "dataclasses", "typing", "re", "string", "textwrap", "difflib", "unicodedata",
        "json", "hashlib", "base64", "binascii", "struct", "zlib", "time", "datetime",
        "calendar", "graphlib", "pprint", "keyword", "colorsys", "secrets", "contextlib",
        "numpy", "helpers",
    )  # fmt: skip
    """Harmless pure modules (no files, network, processes or interpreter internals)."""
    surface_allow: tuple[str, ...] = ()
    """``module.name`` entries added to the built-in module surfaces (gate-rules, issue 10)."""
    surface_deny: tuple[str, ...] = ()
    """``module.name`` entries removed from the built-in module surfaces."""


@dataclass(frozen=True, slots=True)
class RulesPolicy:
    disable: tuple[str, ...] = ()
    """Rule ids the gate does not run."""
    severity: dict[str, SeverityName] = field(default_factory=dict)
    """Rule id = severity: re-ranks a rule's findings."""


@dataclass(frozen=True, slots=True)
class GatePolicy:
    fail_on: SeverityName = "high"
    """`stopbox audit` exits 1 when a finding is at or above this severity."""
    block_at: SeverityName = "high"
    """The engine treats a generated program with a finding at or above this as blocking."""
    on_blocking: Annotated[str, Choice(ON_BLOCKING)] = "block"
    """`block`: do not run, utility 0, reason recorded; `record`: run sandboxed anyway."""
    probe_task: str = "lpn"
    """The task whose train split scores candidates when `audit --execute` drives an improver."""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    backend: Annotated[str, Choice(BACKENDS)] = "seccomp"
    wall_s: Seconds = 10.0
    """Wall-clock limit of one job (seconds)."""
    call_timeout_s: Seconds = 2.0
    """Wall-clock limit of one call into the job (seconds)."""
    cpu_s: Annotated[int, Ge(1), Le(86_400)] = 10
    """CPU-time limit of one job (RLIMIT_CPU, seconds)."""
    memory_mb: Annotated[int, Ge(32), Le(1_048_576)] = 1024
    """Address-space limit of one job (MiB)."""
    processes: Annotated[int, Ge(1), Le(4096)] = 1
    """Processes (threads) one job may run."""
    file_size_mb: Annotated[int, Ge(0), Le(1_048_576)] = 8
    """Largest file one job may write (MiB)."""
    open_files: Annotated[int, Ge(16), Le(1_048_576)] = 64
    """Open file descriptors of one job."""
    output_bytes: Annotated[int, Ge(1024), Le(1 << 30)] = 65536
    """Bytes of stdout/stderr kept per job; more is a violation."""
    pool_size: Annotated[int, Ge(0), Le(256)] = 0
    """0 means one warm worker per core."""
    docker_image: Name = "stopbox-sandbox:latest"
    allow_missing_layers: tuple[str, ...] = ()
    """Confinement layers this policy lets a sandbox run without (degraded mode; "*" = any).
    Empty: every layer is required and a sandbox that cannot apply one refuses to start. The
    missing ones are listed in every result (`layers.missing`); see docs/sandbox.md."""


@dataclass(frozen=True, slots=True)
class PathsPolicy:
    read: tuple[str, ...] = ()
    """Extra read-only paths besides the interpreter and the allowed packages."""
    write: tuple[str, ...] = ()
    """Extra writable paths besides the per-job workdir."""


@dataclass(frozen=True, slots=True)
class SyscallPolicy:
    deny: tuple[str, ...] = ()
    """Syscalls denied in addition to the built-in deny list."""
    allow: tuple[str, ...] = ()
    """Syscalls removed from the built-in deny list (use with care)."""
    action: Annotated[str, Choice(("errno", "kill"))] = "errno"
    """`errno`: the call fails with EPERM and is recorded; `kill`: the job is killed (SIGSYS)."""


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    lm_calls: Annotated[int, Ge(1), Le(100_000)] = 4
    """Language-model calls per improver run."""
    samples_per_call: Annotated[int, Ge(1), Le(1024)] = 6
    """Responses per language-model call."""
    tokens: Annotated[int, Ge(1), Le(10**10)] = 200_000
    """Tokens per improver run."""
    dollars: Annotated[float, Ge(0), Le(1_000_000)] = 5.0
    """Spend per improver run (USD)."""
    utility_calls: Annotated[int, Ge(1), Le(10**7)] = 25
    """Calls of `utility` per improver run."""
    meta_utility_tests: Annotated[int, Ge(1), Le(10_000)] = 5
    """Downstream tasks scored per meta-utility evaluation."""
    improver_wall_s: Seconds = 600.0
    """Wall-clock limit of one improver run (seconds)."""
    max_concurrency: Annotated[int, Ge(0), Le(4096)] = 0
    """LM requests in flight (0: bounded by --jobs only); --max-concurrency overrides it."""
    run_lm_calls: Annotated[int, Ge(0), Le(10**9)] = 0
    """Language-model calls for the whole run (0: no run-wide limit)."""
    run_tokens: Annotated[int, Ge(0), Le(10**12)] = 0
    """Tokens for the whole run (0: no run-wide limit)."""
    run_dollars: Annotated[float, Ge(0), Le(1_000_000)] = 0.0
    """Spend for the whole run in USD (0: no run-wide limit)."""
    run_wall_s: Annotated[float, Ge(0), Le(30 * 86400)] = 0.0
    """Wall-clock limit of the whole run in seconds (0: no run-wide limit)."""


@dataclass(frozen=True, slots=True)
class Policy:
    name: Name = "default"
    description: str = ""
    source: str = "<builtin>"
    """Where the policy was read from (not a key of a policy file)."""
    imports: ImportsPolicy = field(default_factory=ImportsPolicy)
    rules: RulesPolicy = field(default_factory=RulesPolicy)
    gate: GatePolicy = field(default_factory=GatePolicy)
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    paths: PathsPolicy = field(default_factory=PathsPolicy)
    syscalls: SyscallPolicy = field(default_factory=SyscallPolicy)
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for f in fields(self):
            value = getattr(self, f.name)
            if hasattr(value, "__dataclass_fields__"):
                out[f.name] = {
                    g.name: (list(v) if isinstance(v := getattr(value, g.name), tuple) else v)
                    for g in fields(value)
                }
        return out


def _sections() -> tuple[str, ...]:
    """The tables of a policy file: the dataclass-valued fields of :class:`Policy`."""
    return tuple(f.name for f in fields(Policy) if f.name not in ("name", "description", "source"))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key in _sections():
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _read_toml(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    file = str(path)
    if path in chain:
        raise PolicyError(file, "extends", "cycle: " + " -> ".join(str(p) for p in (*chain, path)))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(file, "file", "not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(file, "file", f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(file, path, exc) from None
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent:
        raise PolicyError(file, "extends", f"got {parent!r}; allowed: a policy name or path")
    parent_path = _resolve(parent, relative_to=path.parent)
    if not parent_path.exists():
        known = ", ".join(sorted(p.stem for p in POLICY_DIR.glob("*.toml")))
        raise PolicyError(
            file, "extends", f"{parent!r} not found ({parent_path}); allowed: {known} or a path"
        )
    base = _read_toml(parent_path, (*chain, path))
    base.pop("name", None)
    base.pop("description", None)
    merged = _merge(base, {k: v for k, v in data.items() if k != "extends"})
    return merged


def _toml_error(file: str, path: Path, exc: tomllib.TOMLDecodeError) -> PolicyError:
    """``FILE:LINE: syntax: not valid TOML: ...`` (tomllib puts the place in the message)."""
    text = str(exc)
    where = re.search(r"\((?:at line (\d+), column (\d+)|at end of document)\)", text)
    if where is None:
        return PolicyError(file, "syntax", f"not valid TOML: {text}")
    line, col = where.groups()
    if line is None:  # at end of document: the last line
        line, col = str(max(1, path.read_text(encoding="utf-8").count("\n"))), "end"
    message = text[: where.start()].strip()
    return PolicyError(f"{file}:{line}", "syntax", f"not valid TOML: {message} (column {col})")


def _resolve(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    text = str(name_or_path)
    if "/" not in text and not text.endswith(".toml"):
        return POLICY_DIR / f"{text}.toml"
    path = Path(text)
    if not path.is_absolute() and relative_to is not None and not path.exists():
        candidate = relative_to / path
        if candidate.exists():
            return candidate
    return path


def policy_from_dict(data: dict[str, Any], file: str = "<dict>") -> Policy:
    """Validate a (merged) policy table into a frozen :class:`Policy`."""
    table = {k: v for k, v in data.items() if k != "extends"}
    policy: Policy = validate(Policy, table, file)
    return _with_source(policy, file)


def _with_source(policy: Policy, file: str) -> Policy:
    from dataclasses import replace

    return replace(policy, source=file)


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file (``stopbox policy schema``)."""
    return json_schema(Policy)


def load_policy(name_or_path: str | Path | None = None) -> Policy:
    """Load a policy by name (``default``, ``strict``, ``paper``) or path; None is the default."""
    path = _resolve(name_or_path or "default")
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in POLICY_DIR.glob("*.toml")))
        raise PolicyError(
            f"policy {str(name_or_path)!r}",
            "not found",
            f"allowed: {known} or a path to a TOML file ({path} does not exist)",
        )
    return policy_from_dict(_read_toml(path.resolve(), ()), file=str(path))


def default_policy() -> Policy:
    return load_policy("default")
