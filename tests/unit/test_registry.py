"""The generic registry (harness/registry.py) and the LM registry built on it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from stopbox.harness.registry import Registry, RegistryError

ROOT = Path(__file__).resolve().parents[2]


def test_register_lookup_and_names() -> None:
    things: Registry[int] = Registry("thing")
    things.register("b")(2)
    things.register("a")(1)
    assert things.get("a") == 1 and things.names() == ["a", "b"] and len(things) == 2
    assert "a" in things and "c" not in things
    with pytest.raises(RegistryError, match="unknown thing 'c'; known: a, b"):
        things.get("c")
    with pytest.raises(ValueError, match="already registered"):
        things.register("a")(3)
    things.register("a", replace=True)(3)
    assert things.get("a") == 3


def test_builtins_are_imported_lazily_on_first_lookup() -> None:
    name = "stopbox.harness.lm.openai_backend"
    lazy: Registry[object] = Registry("lazy", builtins=("stopbox_no_such_module",))
    lazy.register("x")(1)  # registering imports nothing
    with pytest.raises(ModuleNotFoundError, match="stopbox_no_such_module"):
        lazy.names()  # the first lookup imports the builtins
    from stopbox.harness.lm import LM_BACKENDS

    assert {"openai", "replay", "synthetic"} <= set(LM_BACKENDS.names())
    assert name in sys.modules


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_registry_is_a_leaf_and_lm_base_imports_no_backend() -> None:
    assert not any(m.startswith("stopbox") for m in _imports(ROOT / "harness" / "registry.py"))
    base = _imports(ROOT / "harness" / "lm" / "_base.py")
    backends = {"openai_backend", "replay", "synthetic", "testing"}
    assert not {m for m in base if m.rsplit(".", 1)[-1] in backends}, base
    assert "stopbox.harness.lm" not in base


def test_the_engine_has_no_backend_knowledge() -> None:
    for rel in ("harness/stop/_lm_access.py", "harness/stop/_engine.py", "harness/stop/study.py"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert 'startswith("synthetic")' not in text, rel
