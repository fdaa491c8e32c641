"""The audit hook and import guard installed in the job process before untrusted code runs.

Standalone (stdlib only).  Events go to the worker as they happen (``send``), so later code
cannot erase them; the few events that would reach the hook's own objects are refused.
"""

from __future__ import annotations

import builtins
import os
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["IMPORTS_LIVE", "install_audit_hook", "guarded_builtins"]

_MAX_EVENTS = 500
_WATCH = {
    "open", "os.system", "subprocess.Popen", "os.fork", "os.forkpty", "os.exec", "os.spawn",
    "os.posix_spawn", "os.kill", "os.killpg", "os.remove", "os.rename", "os.rmdir", "os.link",
    "os.symlink", "os.chmod", "os.chown", "os.truncate", "shutil.rmtree", "shutil.copyfile",
    "import", "compile", "exec", "resource.setrlimit", "resource.prlimit", "sys.settrace",
    "sys.setprofile", "sys._getframe", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect",
    "sys.addaudithook", "object.__setattr__", "object.__delattr__", "builtins.input",
    "os.putenv", "os.unsetenv", "mmap.__new__", "signal.pthread_kill", "os.setuid",
}  # fmt: skip
_PREFIXES = ("socket.", "ctypes.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn")
REPORTED_IMPORTS: set[str] = set()
IMPORTS_LIVE: list[bool] = []
"""Non-empty once the untrusted module runs: imports before that are the worker's own."""
_CALLER_EVENTS = {
    "exec", "compile", "sys._getframe", "object.__setattr__", "object.__delattr__",
}  # fmt: skip
"""Events reported only when the job's own code raised them.  The interpreter's code raises them
all the time: imports execute module code, traceback compiles source lines, dataclasses and
namedtuple build methods and look up their caller's module.  Text the job compiles or runs itself
is reported (its caller is the job's file, or code the job made)."""
_BLOCKED = {"gc.get_objects", "gc.get_referrers", "gc.get_referents"}
"""Events the hook refuses: they would reach the hook's own objects."""


def _short(value: Any) -> str:
    if isinstance(value, str | bytes | int | float | bool | type(None)):
        text = repr(value)
    elif isinstance(value, tuple | list) and len(value) < 8:
        text = "(" + ", ".join(_short(v) for v in value) + ")"
    else:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 200 else text[:197] + "..."


def _writes(mode: Any, flags: Any) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    if isinstance(flags, int) and flags >= 0:
        return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
    return False


def _import_shown(args: tuple[Any, ...], allow_imports: frozenset[str]) -> list[str] | None:
    """An import of a module outside the allow-list, once per module, after the job started."""
    top = str(args[0]).split(".")[0] if args else ""
    if top in allow_imports or top in REPORTED_IMPORTS or not IMPORTS_LIVE:
        return None
    REPORTED_IMPORTS.add(top)
    return [top]


def _open_shown(args: tuple[Any, ...], readable: tuple[str, ...],
                writable: tuple[str, ...]) -> list[str] | None:  # fmt: skip
    """An open outside the paths the job may read (or, for writing, write)."""
    path = args[0] if args else None
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else None
    if not isinstance(path, str):
        return None
    full = os.path.abspath(path)
    if _writes(mode, flags):
        full = os.path.realpath(full)  # a symlink in the workdir may point outside
        if full.startswith(writable):
            return None
    elif full.startswith(readable) or full.startswith(writable):
        return None
    return [_short(full), _short(mode), _short(flags)]


def _caller_shown(event: str, args: tuple[Any, ...], readable: tuple[str, ...],
                  state: dict[str, Any]) -> list[str] | None:  # fmt: skip
    """An event of _CALLER_EVENTS raised by the job's own code (not the interpreter's)."""
    if event == "object.__setattr__" and not (
        args and isinstance(args[0], types.FunctionType | type | types.ModuleType)
    ):
        return None
    state["busy"] = True  # sys._getframe is itself an audited event
    try:
        caller = sys._getframe(2).f_code.co_filename  # 0: here, 1: the hook, 2: the caller
    finally:
        state["busy"] = False
    if caller.startswith("<frozen ") or caller.startswith(readable):
        return None
    return [_short(a) for a in args[:4]]


def install_audit_hook(
    send: Callable[[dict[str, Any]], None],
    allow_imports: frozenset[str],
    readable: tuple[str, ...],
    writable: tuple[str, ...],
    own_code: types.CodeType,
) -> None:
    """Record interesting sys.audit events; deny the few that would reach the hook itself."""
    state: dict[str, Any] = {"n": 0, "busy": False}
    watch, prefixes, blocked = frozenset(_WATCH), _PREFIXES, frozenset(_BLOCKED)
    caller_events = frozenset(_CALLER_EVENTS)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in watch and not event.startswith(prefixes):
            return
        if event in blocked:
            raise PermissionError(f"stopbox: {event} is not allowed in the sandbox")
        if state["busy"] or (event == "exec" and args and args[0] is own_code):
            return
        if event == "import":
            shown = _import_shown(args, allow_imports)
        elif event == "open":
            shown = _open_shown(args, readable, writable)
        elif event in caller_events:
            shown = _caller_shown(event, args, readable, state)
        else:
            shown = [_short(a) for a in args[:4]]
        if shown is None:
            return
        state["n"] += 1
        if state["n"] > _MAX_EVENTS:
            return
        state["busy"] = True
        try:
            send({"op": "event", "event": {"kind": "audit", "event": event, "args": shown}})
        finally:
            state["busy"] = False

    sys.addaudithook(hook)


def guarded_builtins(
    send: Callable[[dict[str, Any]], None], allow: frozenset[str]
) -> dict[str, Any]:
    """A builtins dict whose ``__import__`` reports modules outside the allow-list, even ones
    the worker had already loaded (those raise no ``import`` audit event)."""
    real_import = builtins.__import__

    def __import__(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                   level: int = 0) -> Any:  # fmt: skip
        top = str(name).partition(".")[0]
        if level == 0 and top not in allow and top not in REPORTED_IMPORTS:
            REPORTED_IMPORTS.add(top)
            send({"op": "event", "event": {"kind": "audit", "event": "import", "args": [top]}})
        return real_import(name, globals, locals, fromlist, level)

    table = dict(builtins.__dict__)
    table["__import__"] = __import__
    return table
