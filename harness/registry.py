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

    def __init__(self, kind: str, *, builtins: Iterable[str] = ()) -> None:
        self.kind = kind
        self._builtins = tuple(builtins)
        self._entries: dict[str, T] = {}
        self._loaded = not self._builtins
        self._lock = threading.RLock()

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

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True  # before importing: a builtin may look itself up
            for module in self._builtins:
                importlib.import_module(module)

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._entries)
