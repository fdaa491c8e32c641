"""What import-linter cannot see: reporting loads nothing by name (no importlib tricks), so its
imports are all in the graph the contracts in pyproject.toml check."""

from __future__ import annotations

import ast
from pathlib import Path

import stopbox.harness.reporting as reporting


def _dynamic_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = {a.name for a in node.names}
            module = getattr(node, "module", None) or ""
            if (
                "importlib" in names
                or module.startswith("importlib")
                and module != "importlib.resources"
            ):
                found.append(f"{path.name}:{node.lineno} imports importlib")
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in {"import_module", "__import__"}:
                found.append(f"{path.name}:{node.lineno} calls {name}")
    return found


def test_reporting_loads_no_module_by_name() -> None:
    files = sorted(Path(reporting.__file__).parent.glob("*.py"))
    assert len(files) > 10
    assert [hit for p in files for hit in _dynamic_imports(p)] == []


def test_the_check_sees_an_importlib_trick(tmp_path: Path) -> None:
    sample = tmp_path / "trick.py"
    sample.write_text("import importlib\nm = importlib.import_module('x')\n", encoding="utf-8")
    assert _dynamic_imports(sample) == [
        "trick.py:1 imports importlib",
        "trick.py:2 calls import_module",
    ]
