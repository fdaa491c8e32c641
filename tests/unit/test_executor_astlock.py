"""``ast.parse`` serialised per process (CPython gh-106905: concurrent parses can fail with
``SystemError: AST constructor recursion depth mismatch`` on 3.11 before 3.11.8)."""

from __future__ import annotations

import ast
import threading
import time
from typing import Any

import pytest

from stopbox.harness.executor import _astlock


def test_parse_is_serialised_and_gives_the_same_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.01)
        try:
            return compile(args[0], "<t>", "exec", ast.PyCF_ONLY_AST)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(ast, "parse", slow_parse)  # restored after the test
    _astlock.install()
    _astlock.install()  # idempotent: wrapped once
    assert _astlock.installed() and ast.parse.__wrapped__ is slow_parse  # type: ignore[attr-defined]
    trees: list[str] = []

    def work(i: int) -> None:
        trees.append(ast.dump(ast.parse(f"x = {i}\n")))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1  # never two parses at once
    expected = [compile(f"x = {i}\n", "<t>", "exec", ast.PyCF_ONLY_AST) for i in range(8)]
    assert sorted(trees) == sorted(ast.dump(tree) for tree in expected)


def test_an_engine_with_parallel_evaluations_installs_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    plain = getattr(ast.parse, "__wrapped__", ast.parse)
    monkeypatch.setattr(ast, "parse", plain)
    assert not _astlock.installed()
    from tests.unit.stop.test_engine import make_engine

    make_engine(tmp_path / "one", jobs=1)
    assert not _astlock.installed()
    make_engine(tmp_path / "four", jobs=4)
    assert _astlock.installed()
