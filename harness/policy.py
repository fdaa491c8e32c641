"""Policies: declarative TOML files validated into a frozen :class:`Policy`.

A policy is data only.  Unknown keys and bad values raise :class:`PolicyError` naming the file,
the key and what is allowed.  ``extends = "default"`` (or a path) merges the named policy first;
tables merge key by key, lists are replaced.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from stopbox.harness._resources import data_dir
from stopbox.harness.errors import PolicyError

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
]

POLICY_DIR = data_dir("policies")
SEVERITIES = ("low", "medium", "high", "critical")
BACKENDS = ("seccomp", "gvisor", "docker", "none")
ON_BLOCKING = ("block", "record")


@dataclass(frozen=True, slots=True)
class ImportsPolicy:
    allow: tuple[str, ...] = (
        "math", "random", "itertools", "functools", "collections", "heapq", "bisect", "numpy",
        "typing", "dataclasses", "re", "time", "statistics", "copy", "operator", "string",
        "fractions", "decimal", "enum", "abc", "helpers",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RulesPolicy:
    disable: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatePolicy:
    fail_on: str = "high"
    """`stopbox audit` exits 1 when a finding is at or above this severity."""
    block_at: str = "high"
    """The engine treats a generated program with a finding at or above this as blocking."""
    on_blocking: str = "block"
    """`block`: do not run, utility 0, reason recorded; `record`: run sandboxed anyway."""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    backend: str = "seccomp"
    wall_s: float = 10.0
    call_timeout_s: float = 2.0
    cpu_s: int = 10
    memory_mb: int = 1024
    processes: int = 1
    file_size_mb: int = 8
    open_files: int = 64
    output_bytes: int = 65536
    pool_size: int = 0
    """0 means one warm worker per core."""
    docker_image: str = "stopbox-sandbox:latest"


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
    action: str = "errno"
    """`errno`: the call fails with EPERM and is recorded; `kill`: the job is killed (SIGSYS)."""


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    lm_calls: int = 4
    samples_per_call: int = 6
    tokens: int = 200_000
    dollars: float = 5.0
    utility_calls: int = 25
    meta_utility_tests: int = 5
    improver_wall_s: float = 600.0
    # real-models (issue 11): LM requests in flight (0: bounded by --jobs only) and run-wide
    # budgets beside the per-improver ones (0: no limit); --max-concurrency overrides the first
    max_concurrency: int = 0
    run_lm_calls: int = 0
    run_tokens: int = 0
    run_dollars: int = 0  # whole dollars
    run_wall_s: int = 0


@dataclass(frozen=True, slots=True)
class Policy:
    name: str = "default"
    description: str = ""
    source: str = "<builtin>"
    imports: ImportsPolicy = field(default_factory=ImportsPolicy)
    rules: RulesPolicy = field(default_factory=RulesPolicy)
    gate: GatePolicy = field(default_factory=GatePolicy)
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    paths: PathsPolicy = field(default_factory=PathsPolicy)
    syscalls: SyscallPolicy = field(default_factory=SyscallPolicy)
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)

    def severity_rank(self, severity: str) -> int:
        return SEVERITIES.index(severity)

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


_SECTIONS: dict[str, type] = {
    "imports": ImportsPolicy,
    "rules": RulesPolicy,
    "gate": GatePolicy,
    "sandbox": SandboxLimits,
    "paths": PathsPolicy,
    "syscalls": SyscallPolicy,
    "budget": BudgetPolicy,
}
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("gate", "fail_on"): SEVERITIES,
    ("gate", "block_at"): SEVERITIES,
    ("gate", "on_blocking"): ON_BLOCKING,
    ("sandbox", "backend"): BACKENDS,
    ("syscalls", "action"): ("errno", "kill"),
}
_TOP_KEYS = ("name", "description", "extends", *_SECTIONS)


def _check_value(file: str, key: str, section: str, name: str, value: Any, default: Any) -> Any:
    choices = _CHOICES.get((section, name))
    if choices is not None:
        if value not in choices:
            raise PolicyError(file, key, f"got {value!r}; allowed: {', '.join(choices)}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise PolicyError(file, key, f"got {value!r}; allowed: true or false")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PolicyError(file, key, f"got {value!r}; allowed: an integer >= 0")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise PolicyError(file, key, f"got {value!r}; allowed: a number > 0")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str) or not value:
            raise PolicyError(file, key, f"got {value!r}; allowed: a non-empty string")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise PolicyError(file, key, f"got {value!r}; allowed: a list of non-empty strings")
        return tuple(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise PolicyError(file, key, f"got {value!r}; allowed: a table of rule id = severity")
        for rid, sev in value.items():
            if sev not in SEVERITIES:
                raise PolicyError(
                    file, f"{key}.{rid}", f"got {sev!r}; allowed: {', '.join(SEVERITIES)}"
                )
        return dict(value)
    raise PolicyError(file, key, "unsupported value")  # pragma: no cover


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key in _SECTIONS:
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
        raise PolicyError(file, "-", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(file, "-", f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(file, "-", f"not valid TOML: {exc}") from None
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
    for key in data:
        if key not in _TOP_KEYS:
            raise PolicyError(file, key, f"unknown key; allowed: {', '.join(_TOP_KEYS)}")
    kwargs: dict[str, Any] = {"source": file}
    for key in ("name", "description"):
        if key in data:
            if not isinstance(data[key], str):
                raise PolicyError(file, key, f"got {data[key]!r}; allowed: a string")
            kwargs[key] = data[key]
    for section, cls in _SECTIONS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise PolicyError(file, section, f"got {table!r}; allowed: a table")
        defaults = cls()
        names = [f.name for f in fields(cls)]
        values: dict[str, Any] = {}
        for name, value in table.items():
            if name not in names:
                raise PolicyError(
                    file, f"{section}.{name}", f"unknown key; allowed: {', '.join(names)}"
                )
            values[name] = _check_value(
                file, f"{section}.{name}", section, name, value, getattr(defaults, name)
            )
        kwargs[section] = cls(**values)
    return Policy(**kwargs)


def load_policy(name_or_path: str | Path | None = None) -> Policy:
    """Load a policy by name (``default``, ``strict``, ``paper``) or path; None is the default."""
    path = _resolve(name_or_path or "default")
    return policy_from_dict(_read_toml(path.resolve(), ()), file=str(path))


def default_policy() -> Policy:
    return load_policy("default")
