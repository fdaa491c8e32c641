from __future__ import annotations

import re

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule, rule_by_id
from stopbox.detectors._surfaces import Surfaces, load_surfaces
from stopbox.detectors._types import Category, Confidence, Severity

_URL = re.compile(r"^\s*(https?|ftp|file)://", re.I)
_URL_READERS = frozenset(
    {"numpy.loadtxt", "numpy.genfromtxt", "numpy.fromregex", "numpy.load", "numpy.lib.npyio.load",
     "numpy.lib.npyio.loadtxt", "numpy.lib.npyio.genfromtxt"}
)  # fmt: skip
_OBJECT_IO = frozenset({"tofile", "dump"})


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _root(expr: cst.BaseExpression) -> cst.BaseExpression:
    node = expr
    while isinstance(node, cst.Attribute | cst.Call | cst.Subscript):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node


def surfaces(ctx: ScanContext) -> Surfaces:
    allow, deny = ctx.surface_policy
    return load_surfaces().with_policy(allow, deny)


@rule(
    "IMP005",
    "module-private-attribute",
    Category.DISALLOWED_IMPORT,
    Severity.HIGH,
    Confidence.HIGH,
)
class ModulePrivateAttribute(Rule):
    """A private attribute (``_name``) of an allowed module, or of an object reached from one
    (``random._os``, ``collections._sys``, ``dataclasses._thread``, ``np.testing._private``,
    ``random.Random()._randbelow``), is used or imported.

    Allowed modules import disallowed ones under private names: ``random._os.system`` is
    ``os.system`` without an ``import os``.  Private names are not part of any module's surface.
    Documented underscore APIs (namedtuple ``_replace``/``_asdict``/``_fields``/``_make``, enum
    ``_value_``/``_name_``) and the program's own objects (``self._cache``) are not reported;
    dunders are judged by INT001.

    INVALID:
        import random
        random._os.system("id")
    --
        from collections import _sys as s
        mods = s.modules
    --
        import random
        rng = random.Random(0)
        state = rng._randbelow(10)

    VALID:
        import collections
        Point = collections.namedtuple("Point", "x y")
        p = Point(1, 2)._replace(x=3)
    --
        class Cache:
            def __init__(self):
                self._store = {}
    """

    def visit_Attribute(self, node: cst.Attribute, ctx: ScanContext) -> None:
        attr = node.attr.value
        private = attr.startswith("_") and not _dunder(attr)
        io_method = attr in _OBJECT_IO
        qual = ctx.qualname(node)
        root = _root(node)
        if not isinstance(root, cst.Name):
            if attr == "tofile":
                _report_io(ctx, node, f".{attr}()")
            return
        imported = root.value in ctx.imported
        derived = root.value in ctx.module_derived
        if qual is not None and imported:
            self._module_attribute(ctx, node, qual, attr, private)
            return
        if attr == "tofile" or (io_method and (imported or derived)):
            _report_io(ctx, node, f".{attr}()")
            return
        if private and (imported or derived):
            if attr in surfaces(ctx).underscore_api:
                return
            base = ctx.module_derived.get(root.value, root.value)
            self._report(ctx, node, f"{attr} of an object reached from {base}")

    def _module_attribute(
        self, ctx: ScanContext, node: cst.Attribute, qual: str, attr: str, private: bool
    ) -> None:
        surf = surfaces(ctx)
        module, _, name = qual.rpartition(".")
        if name in surf.network.get(module, ()):
            _report_network(ctx, node, qual)
            return
        if name in surf.io.get(module, ()):
            _report_io(ctx, node, qual)
            return
        if _dunder(name):
            return
        if private:
            if name not in surf.underscore_api:
                self._report(ctx, node, qual)
            return
        table = surf.modules.get(module)
        if table is None:
            return  # an object reached from a module (numpy.random.Generator.integers)
        if name not in table:
            _report_surface(ctx, node, module, name)

    def visit_ImportFrom(self, node: cst.ImportFrom, ctx: ScanContext) -> None:
        if node.module is None or node.relative or isinstance(node.names, cst.ImportStar):
            return
        module = _dotted(node.module)
        surf = surfaces(ctx)
        if not _module_ok(ctx, module, node, surf):
            return
        for alias in node.names:
            name = _dotted(alias.name)
            qual = f"{module}.{name}"
            if name in surf.network.get(module, ()):
                _report_network(ctx, alias, qual)
            elif name in surf.io.get(module, ()):
                _report_io(ctx, alias, qual)
            elif name.startswith("_") and not _dunder(name):
                self._report(ctx, alias, qual)
            elif module in surf.modules and name not in surf.modules[module]:
                _report_surface(ctx, alias, module, name)

    def visit_Import(self, node: cst.Import, ctx: ScanContext) -> None:
        surf = surfaces(ctx)
        for alias in node.names:
            _module_ok(ctx, _dotted(alias.name), alias, surf)

    def _report(self, ctx: ScanContext, node: cst.CSTNode, what: str) -> None:
        ctx.report(
            self.info,
            node,
            f"private attribute {what}: allowed modules keep disallowed ones under private names "
            "(random._os is os); private names are not part of any module's surface",
        )


def _module_ok(ctx: ScanContext, module: str, node: cst.CSTNode, surf: Surfaces) -> bool:
    """Check each step of a dotted module path against the surfaces; False if reported."""
    parts = module.split(".")
    if not ctx.is_allowed_module(module):
        return False  # IMP001 reports the import itself
    for i in range(1, len(parts)):
        parent, name = ".".join(parts[:i]), parts[i]
        if name.startswith("_") and not _dunder(name):
            ctx.report(
                rule_by_id("IMP005"),
                node,
                f"private module {parent}.{name}: private names are not part of any module's "
                "surface",
            )
            return False
        if name in surf.io.get(parent, ()):
            _report_io(ctx, node, f"{parent}.{name}")
            return False
        if parent in surf.modules and name not in surf.modules[parent]:
            _report_surface(ctx, node, parent, name)
            return False
    return True


def _report_surface(ctx: ScanContext, node: cst.CSTNode, module: str, name: str) -> None:
    ctx.report(
        rule_by_id("IMP006"),
        node,
        f"{module}.{name} is not on {module}'s surface (the attributes a program may use): "
        "re-exported modules, raw memory, test runners and build tools reach past the allow-list",
    )


def _report_io(ctx: ScanContext, node: cst.CSTNode, what: str) -> None:
    ctx.report(
        rule_by_id("IO004"),
        node,
        f"{what} reads or writes files without an open() in sight (numpy I/O): candidates and "
        "data staged on disk, or the host's files read",
    )


def _report_network(ctx: ScanContext, node: cst.CSTNode, what: str) -> None:
    ctx.report(
        rule_by_id("NET002"),
        node,
        f"{what} fetches from URLs (numpy's DataSource / loaders on a URL): untrusted code has no "
        "network",
    )


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return "?"


@rule(
    "IMP006",
    "module-surface",
    Category.DISALLOWED_IMPORT,
    Severity.HIGH,
    Confidence.HIGH,
)
class ModuleSurface(Rule):
    """An allowed module's attribute that is not on its declared surface is used or imported
    (``typing.sys``, ``statistics.sys``, ``np.ctypeslib``, ``np.testing``, ``np.f2py``,
    ``dataclasses.builtins``, ``contextlib.chdir``).

    Each allowed module has a surface (policies/surfaces/modules.toml): its public names, without
    the modules it re-exports, raw-memory and test helpers, build tools, configuration printers
    and I/O (numpy I/O is IO004/NET002).  ``[imports] surface_allow`` / ``surface_deny`` in a
    policy adjust it.

    INVALID:
        import typing
        mods = typing.sys.modules
    --
        import numpy as np
        buf = np.ctypeslib.as_ctypes(np.zeros(4))
    --
        from numpy import testing as t

    VALID:
        import numpy as np
        x = np.linalg.norm(np.arange(3.0))
    --
        from typing import Any, Callable
        import random
        r = random.Random(3).random()
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name in _URL_READERS and node.args:
            text = ctx.const_str(node.args[0].value)
            if text is not None and _URL.match(text):
                _report_network(ctx, node, f"{name}({text!r})")
