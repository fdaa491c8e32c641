"""Runtime rules as data: each maps one kind of worker event or violation to a finding.

Events are dicts with ``kind`` and ``event``; violations dicts with ``kind`` and ``detail``
(docs/contracts.md §1).  Runtime findings have no source position (line and col are 0).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stopbox.detectors._registry import register_info
from stopbox.detectors._types import Category, Confidence, Finding, RuleInfo, Severity

__all__ = ["RUNTIME_RULES", "RuntimeRule", "runtime_findings"]

Event = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RuntimeRule:
    info: RuleInfo
    source: str
    """``events`` or ``violations``: which list of the ExecResult it reads."""
    match: Callable[[Event], str | None]
    """The finding's message for a matching entry, else None."""
    severity: Callable[[Event], Severity] | None = None


def _info(id: str, name: str, cat: Category, sev: Severity, summary: str) -> RuleInfo:
    doc = (
        f"{summary}\n\nRuntime rule: produced from the sandbox's events and violations "
        "(docs/contracts.md §1) when a program runs, not from its source text."
    )
    return RuleInfo(id, name, cat, sev, Confidence.HIGH, summary, doc, "runtime")


def _audit(prefixes: tuple[str, ...], why: str) -> Callable[[Event], str | None]:
    def match(e: Event) -> str | None:
        if e.get("kind") != "audit":
            return None
        event = str(e.get("event", ""))
        if event.startswith(prefixes):
            return f"audit event {event} {_args(e)}: {why}"
        return None

    return match


def _args(e: Event) -> str:
    args = e.get("args") or []
    text = ", ".join(str(a) for a in list(args)[:3])
    return f"({text[:120]})"


def _use_sandbox(e: Event) -> str | None:
    if e.get("kind") == "broker" and e.get("event") == "use_sandbox":
        if not e.get("literal_true", False):
            return (
                f"utility() was called with use_sandbox={e.get('value')}: a runtime sandbox-bypass"
                " attempt (the flag is never honoured)"
            )
    return None


def _open_for_write(e: Event) -> str | None:
    if e.get("kind") != "audit":
        return None
    event = str(e.get("event", ""))
    if event == "open":
        args = list(e.get("args") or [])
        mode = str(args[1]) if len(args) > 1 else ""
        flags = str(args[2]) if len(args) > 2 else ""
        writes = any(c in mode.strip("'\"") for c in "wax+")
        if not writes and flags.lstrip("-").isdigit():
            writes = int(flags) & 0o3 != 0  # O_WRONLY / O_RDWR
        if not writes:
            return None
        return f"file opened for writing {_args(e)}: writes can stage code or edit trusted files"
    if event in ("os.remove", "os.rename", "os.rmdir", "shutil.rmtree", "os.truncate", "os.mkdir"):
        return f"audit event {event} {_args(e)}: the file system was changed"
    return None


def _broker(events: tuple[str, ...], why: str) -> Callable[[Event], str | None]:
    def match(e: Event) -> str | None:
        if e.get("kind") == "broker" and e.get("event") in events:
            detail = {k: v for k, v in e.items() if k not in ("kind", "event")}
            return f"broker event {e.get('event')} {detail}: {why}"
        return None

    return match


def _ctypes_is_critical(e: Event) -> Severity:
    return Severity.CRITICAL if str(e.get("event", "")).startswith("ctypes.") else Severity.HIGH


_SYSCALL_CATEGORY = {
    "socket": Category.NETWORK, "connect": Category.NETWORK, "bind": Category.NETWORK,
    "sendto": Category.NETWORK, "listen": Category.NETWORK, "accept": Category.NETWORK,
    "execve": Category.PROCESS, "execveat": Category.PROCESS, "fork": Category.PROCESS,
    "vfork": Category.PROCESS, "clone": Category.PROCESS, "clone3": Category.PROCESS,
    "kill": Category.PROCESS, "tkill": Category.PROCESS, "tgkill": Category.PROCESS,
    "ptrace": Category.INTROSPECTION_ESCAPE, "process_vm_readv": Category.INTROSPECTION_ESCAPE,
    "process_vm_writev": Category.INTROSPECTION_ESCAPE,
}  # fmt: skip


def syscall_category(violation: Event) -> Category:
    if violation.get("kind") == "landlock":
        return Category.IO
    return _SYSCALL_CATEGORY.get(str(violation.get("syscall", "")), Category.SANDBOX_BYPASS)


def _violation(kinds: tuple[str, ...], why: str) -> Callable[[Event], str | None]:
    def match(v: Event) -> str | None:
        if v.get("kind") in kinds:
            extra = v.get("syscall") or v.get("limit") or ""
            extra_text = f" ({extra})" if extra else ""
            return f"sandbox {v.get('kind')}{extra_text}: {v.get('detail', '')} — {why}"
        return None

    return match


RUNTIME_RULES: tuple[RuntimeRule, ...] = (
    RuntimeRule(
        _info("RUN001", "runtime-use-sandbox-off", Category.SANDBOX_BYPASS, Severity.CRITICAL,
              "At run time, utility() was called with a use_sandbox value other than True."),
        "events", _use_sandbox,
    ),
    RuntimeRule(
        _info("RUN002", "runtime-disallowed-import", Category.DISALLOWED_IMPORT, Severity.HIGH,
              "At run time, a module outside the import allow-list was imported."),
        "events", _audit(("import",), "the module is outside the import allow-list"),
    ),
    RuntimeRule(
        _info("RUN003", "runtime-file-write", Category.IO, Severity.MEDIUM,
              "At run time, a file was opened for writing, deleted or renamed."),
        "events", _open_for_write,
    ),
    RuntimeRule(
        _info("RUN004", "runtime-network", Category.NETWORK, Severity.HIGH,
              "At run time, the program used a socket."),
        "events", _audit(("socket.",), "untrusted code has no network"),
    ),
    RuntimeRule(
        _info("RUN005", "runtime-process", Category.PROCESS, Severity.CRITICAL,
              "At run time, the program started a process, forked, or sent a signal."),
        "events",
        _audit(("subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                "os.forkpty", "os.kill", "os.killpg", "pty.spawn", "os.startfile", "signal."),
               "a new process or signal escapes the job's controls"),
    ),  # fmt: skip
    RuntimeRule(
        _info("RUN006", "runtime-dynamic-code", Category.DYNAMIC_CODE, Severity.MEDIUM,
              "At run time, code was compiled or executed from text."),
        "events", _audit(("exec", "compile"), "code built at run time was never inspected"),
    ),
    RuntimeRule(
        _info("RUN007", "runtime-introspection", Category.INTROSPECTION_ESCAPE, Severity.HIGH,
              "At run time, the program used ctypes, frames, tracing or the gc object graph."),
        "events",
        _audit(("ctypes.", "sys._getframe", "sys.settrace", "sys.setprofile", "gc.get_",
                "object.__getattr__", "code.__new__", "function.__new__", "sys._current_frames"),
               "interpreter internals are the route out of a restricted namespace"),
        _ctypes_is_critical,
    ),  # fmt: skip
    RuntimeRule(
        _info("RUN008", "runtime-broker-tampering", Category.TAMPERING, Severity.CRITICAL,
              "At run time, the program wrote to, or constructed, a brokered object."),
        "events", _broker(("setattr", "new_object", "getattr_denied", "delattr"),
                          "the brokered objects are trusted state"),
    ),
    RuntimeRule(
        _info("RUN009", "runtime-budget-exceeded", Category.TAMPERING, Severity.MEDIUM,
              "At run time, the program asked for more than its budget allows."),
        "events", _broker(("budget_exceeded",), "requests beyond the budget were refused"),
    ),
    RuntimeRule(
        _info("RUN010", "runtime-syscall-denied", Category.SANDBOX_BYPASS, Severity.HIGH,
              "At run time, the sandbox denied a system call or file access (seccomp, Landlock, "
              "SIGSYS)."),
        "violations", _violation(("seccomp", "sigsys", "landlock"),
                                 "the program tried something the sandbox forbids"),
    ),
    RuntimeRule(
        _info("RUN011", "runtime-resource-limit", Category.PROCESS, Severity.LOW,
              "At run time, the program hit a resource limit (CPU, memory, time, output, files) "
              "or its worker died."),
        "violations", _violation(("rlimit", "timeout", "memory", "output_cap", "crash"),
                                 "the job was stopped by a limit"),
    ),
    RuntimeRule(
        _info("RUN012", "runtime-protocol-tampering", Category.TAMPERING, Severity.CRITICAL,
              "At run time, the worker channel carried a forged or malformed frame."),
        "violations", _violation(("protocol",), "only the trusted worker may write frames"),
    ),
)  # fmt: skip

for _rule in RUNTIME_RULES:
    register_info(_rule.info)


def runtime_findings(result: Any, path: str) -> list[Finding]:
    """Findings from one :class:`~harness.sandbox.ExecResult`'s events and violations."""
    seen: Counter[str] = Counter()
    out: list[Finding] = []
    entries: list[tuple[str, Event]] = [("events", e) for e in getattr(result, "events", ())]
    entries += [("violations", v) for v in getattr(result, "violations", ())]
    for source, entry in entries:
        for r in RUNTIME_RULES:
            if r.source != source:
                continue
            message = r.match(entry)
            if message is None:
                continue
            category = r.info.category
            if r.info.id == "RUN010":
                category = syscall_category(entry)
            severity = r.severity(entry) if r.severity else r.info.severity
            base = hashlib.sha256(
                f"{r.info.id}|{message}".encode("utf-8", "surrogatepass")
            ).hexdigest()[:20]
            occurrence = seen[base]
            seen[base] += 1
            out.append(
                Finding(
                    rule_id=r.info.id,
                    name=r.info.name,
                    category=category,
                    severity=severity,
                    confidence=r.info.confidence,
                    line=0,
                    col=0,
                    message=message,
                    fingerprint=f"{base}:{occurrence}",
                    source="runtime",
                )
            )
            break
    return out
