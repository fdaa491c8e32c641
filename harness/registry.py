"""A small generic registry: a decorator to register things by name, and lookup by name.

A leaf module (it imports nothing from stopbox), so any package can keep a registry without
import cycles.  Built-in entries live in other modules that register themselves when imported;
a registry names those modules (``builtins``) and imports them lazily, on the first lookup, so
the module that defines the registry never imports its implementations::

    LM_BACKENDS: Registry[LMFactory] = Registry(
        "LM backend", builtins=("stopbox.harness.lm.openai_backend", "stopbox.harness.lm.replay")
    )

    @LM_BACKENDS.register("openai")
    def make_openai(argument: str, seed: int) -> LanguageModel: ...

    LM_BACKENDS.get("openai")      # KeyError naming the known names when missing
    LM_BACKENDS.names()            # sorted
    LM_BACKENDS.items()            # (name, entry) in registration order

The same registry serves the detector rules (``detectors/_registry.py``), the sandbox backends
(``harness/sandbox/_base.py``) and the LM backends (``harness/lm/_base.py``); each keeps a thin
decorator of its own (``@rule``, ``@backend``, ``@lm_backend``) that calls :meth:`register`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry", "RegistryError"]

T = TypeVar("T")


class RegistryError(KeyError):
    """A name that is not registered (the message lists the registered names)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not registered"


class Registry(Generic[T]):
    """Entries of one kind by name (see the module docstring)."""

    def __init__(
        self,
        kind: str,
        *,
        builtins: Iterable[str] | Callable[[], Iterable[str]] = (),
        missing_ok: bool = False,
    ) -> None:
        """``builtins``: module names, or a function returning them (called on the first lookup,
        for a list read from data, e.g. the task directories)."""
        self.kind = kind
        self._builtins = builtins if callable(builtins) else tuple(builtins)
        self._missing_ok = missing_ok
        self._entries: dict[str, T] = {}
        self._loaded = self._builtins == ()
        self._loading_thread: int | None = None
        # Two locks: registering takes only ``_lock`` (never held across an import), so a thread
        # that imports a builtin module on its own while another thread loads cannot deadlock.
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    def register(self, name: str, *, replace: bool = False) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")

        def add(obj: T) -> T:
            with self._lock:
                if name in self._entries and self._entries[name] is not obj and not replace:
                    raise ValueError(f"{self.kind} {name!r} is already registered")
                self._entries[name] = obj
            return obj

        return add

    def load(self) -> None:
        """Import the builtin modules once (every lookup does this first).

        Thread-safe: a thread that looks up while another thread is still importing the builtins
        waits for it (the registry is marked loaded only after every builtin was imported), so no
        thread ever sees a half-filled registry.  The loading thread itself may look up while its
        builtins import (a builtin that looks itself up sees what is registered so far).
        A builtin module that is absent is skipped when the registry was made with
        ``missing_ok=True`` (an optional plugin); any other import error propagates, and the next
        lookup tries again.
        """
        if self._loaded or self._loading_thread == threading.get_ident():
            return
        with self._load_lock:
            if self._loaded:
                return
            self._loading_thread = threading.get_ident()
            try:
                builtins = self._builtins() if callable(self._builtins) else self._builtins
                for module in builtins:
                    self._import(module)
                self._loaded = True
            finally:
                self._loading_thread = None

    def _import(self, module: str) -> None:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not (self._missing_ok and exc.name == module):
                raise

    def get(self, name: str) -> T:
        self.load()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._entries

    def names(self) -> list[str]:
        self.load()
        with self._lock:
            return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """Every entry in the order it was registered."""
        self.load()
        with self._lock:
            return list(self._entries.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.load()
        return len(self._entries)
