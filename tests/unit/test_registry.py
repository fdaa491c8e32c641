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


def test_a_first_lookup_from_many_threads_sees_every_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first load is not half-visible: threads that look up while another thread is still
    importing the builtins wait for it (before, they saw an empty registry: a KeyError)."""
    import threading

    slow: Registry[int] = Registry("slow", builtins=("stopbox_test_slow_builtin",))
    started = threading.Event()
    release = threading.Event()
    (tmp_path / "stopbox_test_slow_builtin.py").write_text(
        "import builtins\n"
        "started, release, registry = builtins._stopbox_slow\n"
        "started.set()\n"
        "release.wait(30)\n"
        "registry.register('x')(1)\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("builtins._stopbox_slow", (started, release, slow), raising=False)
    monkeypatch.delitem(sys.modules, "stopbox_test_slow_builtin", raising=False)
    results: list[object] = []

    def look() -> None:
        try:
            results.append(slow.get("x"))
        except Exception as exc:  # recorded, asserted below
            results.append(exc)

    first = threading.Thread(target=look)
    first.start()
    assert started.wait(30)  # the first thread is inside the builtin's import now
    others = [threading.Thread(target=look) for _ in range(4)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(30)
    assert results == [1] * 5


def test_a_missing_optional_builtin_is_skipped_and_a_failed_load_is_retried() -> None:
    optional: Registry[int] = Registry(
        "optional", builtins=("stopbox_no_such_module",), missing_ok=True
    )
    assert optional.names() == []
    strict: Registry[int] = Registry("strict", builtins=("stopbox_no_such_module",))
    for _ in range(2):  # not marked loaded after a failure: the error is raised again
        with pytest.raises(ModuleNotFoundError):
            strict.get("x")


def test_items_keep_registration_order() -> None:
    things: Registry[int] = Registry("thing")
    things.register("b")(2)
    things.register("a")(1)
    assert things.items() == [("b", 2), ("a", 1)]


def test_importing_a_builtin_directly_while_another_thread_loads_does_not_deadlock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thread A imports a builtin module itself (holding its import lock) while thread B's first
    lookup loads the registry and waits for that import; A's module registers (which must not
    wait for B's load lock), so both finish."""
    import importlib
    import threading
    import time

    reg: Registry[int] = Registry("plugin", builtins=("stopbox_test_direct_builtin",))
    started, release = threading.Event(), threading.Event()
    (tmp_path / "stopbox_test_direct_builtin.py").write_text(
        "import builtins\n"
        "started, release, registry = builtins._stopbox_direct\n"
        "started.set()\n"
        "release.wait(30)\n"
        "registry.register('y')(2)\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("builtins._stopbox_direct", (started, release, reg), raising=False)
    monkeypatch.delitem(sys.modules, "stopbox_test_direct_builtin", raising=False)
    got: list[object] = []
    importer = threading.Thread(
        target=lambda: importlib.import_module("stopbox_test_direct_builtin"), daemon=True
    )
    importer.start()
    assert started.wait(30)  # A is inside the module's import
    looker = threading.Thread(target=lambda: got.append(reg.get("y")), daemon=True)
    looker.start()  # B loads: waits for A's import of the module
    for _ in range(3000):  # until B holds the load lock (then the order below is certain)
        if reg._loading_thread is not None:
            break
        time.sleep(0.01)
    release.set()
    importer.join(30)
    looker.join(30)
    assert not importer.is_alive() and not looker.is_alive(), "deadlock"
    assert got == [2]
