"""``scan``: the static entry point the engine and ``stopbox audit`` call for every program."""

from __future__ import annotations

import hashlib
import json
import re

import structlog

from stopbox.detectors._cache import FindingCache, cache_key
from stopbox.detectors._registry import rule_by_id, static_rules
from stopbox.detectors._types import Finding, RuleInfo, Severity

__all__ = ["scan", "RULES_VERSION", "policy_salt", "CACHE", "apply_policy"]

RULES_VERSION = "2026.11.27-7"
"""Bumped whenever a rule changes what it finds; part of every cache key."""
UNPARSABLE_RULE = "EVA002"
MAX_SOURCE_CHARS = 2_000_000
_WS = re.compile(r"\s+")
CACHE = FindingCache()
_log = structlog.get_logger("stopbox.detectors")


def policy_salt(policy: object | None) -> str:
    """The parts of a policy that change findings, hashed, plus the rules version."""
    allow, disable, severity = _policy_parts(policy)
    surface = _surface_parts(policy)
    parts: list[object] = [RULES_VERSION, sorted(allow), sorted(disable), sorted(severity.items())]
    if surface != ((), ()):
        parts.append([sorted(surface[0]), sorted(surface[1])])
    blob = json.dumps(parts)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _surface_parts(policy: object | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The policy's module-surface additions and removals (``[imports] surface_allow`` /
    ``surface_deny``; absent in older policies)."""
    if policy is None:
        return (), ()
    imports = getattr(policy, "imports")  # noqa: B009 - Policy is duck-typed here
    return (
        tuple(getattr(imports, "surface_allow", ())),
        tuple(getattr(imports, "surface_deny", ())),
    )


def _policy_parts(policy: object | None) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    if policy is None:
        from stopbox.harness.policy import ImportsPolicy

        return frozenset(ImportsPolicy().allow), frozenset(), {}
    imports = getattr(policy, "imports")  # noqa: B009 - Policy is duck-typed here
    rules = getattr(policy, "rules")  # noqa: B009
    return frozenset(imports.allow), frozenset(rules.disable), dict(rules.severity)


def scan(source: str, path: str = "<string>", policy: object | None = None) -> list[Finding]:
    """Every static finding in ``source``, sorted by position.  Never raises on bad input: a file
    that does not parse (or is too large or too deep to inspect) is itself a finding."""
    salt = policy_salt(policy)
    key = cache_key(source, salt)
    cached = CACHE.get(key)
    if cached is not None:
        return list(cached)
    allow, disable, severity = _policy_parts(policy)
    findings = _scan_uncached(source, path, allow, _surface_parts(policy))
    findings = apply_policy(findings, disable, severity)
    CACHE.put(key, tuple(findings))
    return findings


def apply_policy(
    findings: list[Finding], disable: frozenset[str], severity: dict[str, str]
) -> list[Finding]:
    """Drop disabled rules and re-rank severities as the policy says."""
    from dataclasses import replace

    out = []
    for f in findings:
        if f.rule_id in disable:
            continue
        if f.rule_id in severity:
            f = replace(f, severity=Severity(severity[f.rule_id]))
        out.append(f)
    return out


def _scan_uncached(
    source: str,
    path: str,
    allow: frozenset[str],
    surface: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> list[Finding]:
    # libcst is imported here, not at module level: a fully cached audit never loads it.
    import libcst as cst

    from stopbox.detectors._core import TooComplexError, run_rules

    info = rule_by_id(UNPARSABLE_RULE)
    if len(source) > MAX_SOURCE_CHARS:
        return [
            parse_error_finding(
                info,
                1,
                1,
                f"file is larger than {MAX_SOURCE_CHARS} characters; not inspected "
                "(code that cannot be inspected must not run)",
                source[:1000],
            )
        ]
    try:
        return run_rules(source, static_rules(), allow, surface)
    except SyntaxError as exc:
        line, col = exc.lineno or 1, (exc.offset or 1)
        return [_syntax_error_finding(info, line, col, exc.msg, source)]
    except (TooComplexError, RecursionError, MemoryError) as exc:
        msg = f"too deeply nested to inspect ({exc or type(exc).__name__}); it must not run"
        return [parse_error_finding(info, 1, 1, msg, source)]
    except ValueError as exc:
        msg = f"cannot be parsed ({exc}); code that cannot be inspected must not run"
        return [parse_error_finding(info, 1, 1, msg, source)]
    except cst.ParserSyntaxError as exc:
        line, col = exc.raw_line, exc.raw_column + 1
        return [_syntax_error_finding(info, line, col, exc.message, source)]
    except Exception as exc:  # noqa: BLE001 - scan never raises on bad input (contract §2)
        _log.warning("scan_failed", path=path, error=repr(exc))
        msg = f"could not be inspected ({type(exc).__name__}); it must not run"
        return [parse_error_finding(info, 1, 1, msg, source)]


def _cpython_rejects(source: str) -> bool:
    """True when CPython's own parser rejects ``source`` too (only the AST is built; nothing runs).

    Called only after the nesting guard passed, so the parser's own limits apply.
    """
    import ast

    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return False


def _syntax_error_finding(
    info: RuleInfo, line: int, col: int, problem: str, source: str
) -> Finding:
    """A parse failure is a high finding either way (code that cannot be inspected must not
    run); the message says whether Python rejects it too (broken: it could not run anyway) or
    only the inspector does (a parser difference: code that would run unseen)."""
    if _cpython_rejects(source):
        msg = f"does not parse ({problem}); Python rejects it too, so it must not and cannot run"
    else:
        msg = (
            f"the inspector cannot parse it ({problem}) but Python can: code that cannot be "
            "inspected must not run"
        )
    return parse_error_finding(info, line, col, msg, source)


def parse_error_finding(
    info: RuleInfo,
    line: int,
    col: int,
    message: str,
    source: str,
    *,
    severity: Severity | None = None,
) -> Finding:
    lines = source.splitlines()
    snippet = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    digest = hashlib.sha256(
        f"{info.id}|{_WS.sub(' ', source)}".encode("utf-8", "surrogatepass")
    ).hexdigest()[:20]
    return Finding(
        rule_id=info.id,
        name=info.name,
        category=info.category,
        severity=severity or Severity(info.severity),
        confidence=info.confidence,
        line=line,
        col=col,
        message=message,
        fingerprint=f"{digest}:0",
        snippet=snippet[:200],
    )
