"""Module surfaces: for each allowed module, the attributes a program may use (data).

The data lives in ``policies/surfaces/modules.toml`` (package data ``stopbox.policies.surfaces``)
and is read once per process.  Tables:

* ``[modules]``: ``"<module>" = [names]``, the module's surface.  A name that is itself a
  module with a table here is a sub-module a program may reach (``numpy.linalg``).  Modules a
  policy allows but that have no table get "every public name" (no private names).
* ``[io]`` / ``[network]``: names of a module that read or write files / reach the network
  (numpy's ``save``, ``load``, ``fromfile``, ``memmap``, ``DataSource`` ...): reported by IO004
  and NET002 rather than as unknown names.
* ``[underscore_api]``: documented underscore attributes of objects (namedtuple ``_replace``,
  ``_asdict``, ``_fields``, ``_make``; enum ``_value_``...): not private.

A policy adds names with ``[imports] surface_allow = ["module.name", ...]`` and removes them with
``surface_deny``.  The file is generated from the installed Python and numpy by
``python -m stopbox.detectors._surfaces > policies/surfaces/modules.toml`` (reviewed by hand:
the exclusions below are the policy) and a test checks every listed name exists.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Surfaces", "load_surfaces", "generate", "STDLIB_SURFACE_MODULES"]

STDLIB_SURFACE_MODULES = (
    "math", "cmath", "random", "statistics", "fractions", "decimal", "numbers", "itertools",
    "functools", "operator", "collections", "collections.abc", "heapq", "bisect", "array",
    "copy", "enum", "abc", "dataclasses", "typing", "re", "string", "textwrap", "difflib",
    "unicodedata", "json", "hashlib", "base64", "binascii", "struct", "zlib", "time",
    "datetime", "calendar", "graphlib", "pprint", "keyword", "colorsys", "secrets",
    "contextlib",
)  # fmt: skip
NUMPY_SUBMODULES = (
    "numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial",
    "numpy.polynomial.polynomial", "numpy.polynomial.chebyshev", "numpy.polynomial.legendre",
    "numpy.polynomial.laguerre", "numpy.polynomial.hermite", "numpy.polynomial.hermite_e",
    "numpy.emath", "numpy.ma", "numpy.char", "numpy.strings", "numpy.rec", "numpy.dtypes",
    "numpy.exceptions", "numpy.typing", "numpy.lib", "numpy.lib.stride_tricks",
    "numpy.lib.scimath", "numpy.lib.mixins", "numpy.lib.array_utils", "numpy.lib.introspect",
)  # fmt: skip
NUMPY_FILE_IO = (
    "save", "savez", "savez_compressed", "load", "loadtxt", "savetxt", "genfromtxt", "fromfile",
    "memmap", "fromregex", "tofile", "dump", "dumps", "recfromtxt", "recfromcsv", "open_memmap",
    "read_array", "write_array", "format", "npyio",
)  # fmt: skip
NUMPY_NETWORK_IO = ("DataSource",)
EXCLUDED = {
    # raw memory, test runners, build tools, configuration printers, private implementation
    "numpy": {"ctypeslib", "testing", "f2py", "distutils", "core", "show_config", "show_runtime",
              "get_include", "test", "matlib", "add_docstring", "add_newdoc", "info"},
    "numpy.lib": {"test", "add_docstring", "add_newdoc", "tracemalloc_domain"},
    # views with arbitrary strides read and write memory outside the array
    "numpy.lib.stride_tricks": {"as_strided"},
    "contextlib": {"chdir"},
    "typing": {"get_type_hints"},  # evaluates string annotations with eval()
}  # fmt: skip
UNDERSCORE_API = (
    "_replace", "_asdict", "_fields", "_make", "_field_defaults", "_value_", "_name_",
    "_missing_", "_generate_next_value_", "_ignore_", "_order_",
)  # fmt: skip


@dataclass(frozen=True)
class Surfaces:
    modules: dict[str, frozenset[str]]
    io: dict[str, frozenset[str]]
    network: dict[str, frozenset[str]]
    underscore_api: frozenset[str]

    def module_of(self, qualname: str) -> tuple[str, str] | None:
        """(module, attribute) when ``qualname`` is an attribute of a module with a table."""
        module, _, attr = qualname.rpartition(".")
        if module in self.modules:
            return module, attr
        return None

    def with_policy(self, allow: Iterable[str], deny: Iterable[str]) -> Surfaces:
        allow, deny = tuple(allow), tuple(deny)
        if not allow and not deny:
            return self
        modules = {k: set(v) for k, v in self.modules.items()}
        for entry in allow:
            module, _, name = entry.rpartition(".")
            modules.setdefault(module, set()).add(name)
        for entry in deny:
            module, _, name = entry.rpartition(".")
            modules.get(module, set()).discard(name)
        return Surfaces(
            {k: frozenset(v) for k, v in modules.items()},
            self.io,
            self.network,
            self.underscore_api,
        )


@functools.cache
def load_surfaces() -> Surfaces:
    from stopbox.harness._resources import data_dir

    path = data_dir("policies") / "surfaces" / "modules.toml"
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))

    def table(name: str) -> dict[str, frozenset[str]]:
        return {k: frozenset(v) for k, v in data.get(name, {}).items()}

    return Surfaces(
        table("modules"),
        table("io"),
        table("network"),
        frozenset(data.get("underscore_api", {}).get("names", ())),
    )


def _public(module: Any) -> list[str]:
    import types

    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    out = []
    for n in names:
        value = getattr(module, n, None)
        if n.startswith("_") or value is None and not hasattr(module, n):
            continue
        if isinstance(value, types.ModuleType):
            continue  # re-exported modules (typing.sys, statistics.sys) are not the surface
        out.append(n)
    return sorted(set(out))


def generate() -> str:
    """The surfaces TOML for the running interpreter and its numpy."""
    tables = {**_stdlib_tables(), **_numpy_tables()}
    return _render_toml(tables)


def _stdlib_tables() -> dict[str, list[str]]:
    import importlib

    tables: dict[str, list[str]] = {}
    for name in STDLIB_SURFACE_MODULES:
        module = importlib.import_module(name)
        tables[name] = [n for n in _public(module) if n not in EXCLUDED.get(name, set())]
    tables["collections"] = sorted({*tables["collections"], "abc"})
    return tables


def _numpy_tables() -> dict[str, list[str]]:
    """numpy and its allowed submodules, without file and network I/O or excluded names."""
    import numpy

    skip = {*NUMPY_FILE_IO, *NUMPY_NETWORK_IO}
    tables: dict[str, list[str]] = {}
    top = [n for n in dir(numpy) if not n.startswith("_")]
    tables["numpy"] = sorted(
        n
        for n in top
        if n not in EXCLUDED["numpy"]
        and n not in skip
        and (not _is_module(getattr(numpy, n)) or f"numpy.{n}" in NUMPY_SUBMODULES)
    )
    tables["numpy"].append("__version__")
    for name in NUMPY_SUBMODULES:
        module = numpy
        for part in name.split(".")[1:]:
            module = getattr(module, part)
        names = [n for n in dir(module) if not n.startswith("_")]
        tables[name] = sorted(
            n
            for n in names
            if n not in skip
            and n not in EXCLUDED.get(name, set())
            and (not _is_module(getattr(module, n)) or f"{name}.{n}" in NUMPY_SUBMODULES)
        )
    return tables


def _render_toml(tables: dict[str, list[str]]) -> str:
    import json

    import numpy

    io = {
        "numpy": sorted(n for n in NUMPY_FILE_IO if hasattr(numpy, n) or n == "tofile"),
        "numpy.lib": ["format", "npyio"],
        "numpy.lib.npyio": ["load", "loadtxt", "save", "savetxt", "savez", "genfromtxt"],
        "numpy.rec": ["fromfile"],
        "numpy.ma": ["dump", "dumps", "load", "loads"],
        "numpy.ndarray": ["dump", "tofile"],
    }
    network = {"numpy": ["DataSource"], "numpy.lib.npyio": ["DataSource"]}
    lines = [
        "# Module surfaces: for each allowed module, the attributes a program may use.",
        "# Generated by `python -m stopbox.detectors._surfaces` from the installed Python and",
        "# numpy, with the exclusions in detectors/_surfaces.py (I/O, raw memory, test runners,",
        "# build tools, re-exported modules, private names).  See docs/rules.md (IMP005, IMP006,",
        "# IO004, NET002).",
        "",
        "[underscore_api]",
        f"names = {json.dumps(list(UNDERSCORE_API))}",
        "",
        "[modules]",
    ]
    for name in sorted(tables):
        lines.append(f'"{name}" = [')
        for n in tables[name]:
            lines.append(f'  "{n}",')
        lines.append("]")
    for title, data in (("io", io), ("network", network)):
        lines += ["", f"[{title}]"]
        for name in sorted(data):
            lines.append(f'"{name}" = {json.dumps(data[name])}')
    return "\n".join(lines) + "\n"


def _is_module(value: object) -> bool:
    import types

    return isinstance(value, types.ModuleType)


if __name__ == "__main__":
    print(generate(), end="")
