"""The `helpers` shim untrusted improvers import."""

from __future__ import annotations

import pytest

from stopbox.harness.sandbox.helpers import extract_code


def test_first_python_fence_wins() -> None:
    text = "intro\n```python\ndef a():\n    return 1\n```\nmore\n```python\nb = 2\n```"
    assert extract_code(text) == "def a():\n    return 1"


def test_plain_and_py_fences_and_no_fence() -> None:
    assert extract_code("```\nx = 1\n```") == "x = 1"
    assert extract_code("```py\nx = 2\n```") == "x = 2"
    assert extract_code("x = 3\n") == "x = 3"


def test_list_in_list_out() -> None:
    assert extract_code(["```python\na\n```", "b"]) == ["a", "b"]
    assert extract_code([]) == []


def test_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        extract_code([1])  # type: ignore[list-item]


def test_nested_fences_inside_an_improver_stay_in_its_block() -> None:
    improver = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        '    message = f"""Improve:\n'
        "```python\n"
        "{initial_solution}\n"
        "```\n"
        '"""\n'
        "    return initial_solution"
    )
    response = f"Idea: keep the seed's prompt.\n```python\n{improver}\n```\nDone."
    assert extract_code(response) == improver


def test_a_cut_off_response_gives_its_open_block() -> None:
    assert extract_code("Idea.\n```python\nx = 1\ny = 2\n\n") == "x = 1\ny = 2"


def test_code_blocks_lists_top_level_blocks_in_order() -> None:
    from stopbox.harness.sandbox.helpers import code_blocks

    text = "a\n```python\nx = 1\n```\nb\n```\ny = 2\n```\n"
    assert code_blocks(text) == ["x = 1", "y = 2"]
