"""A fast pre-order walk over a libcst tree.

libcst's own ``visit`` rebuilds every node as it goes (``_visit_and_replace_children``), which
profiled at about 60% of a scan.  Rules only read the tree, so this walk follows each node's
dataclass fields directly, skips whitespace and punctuation (unless comments matter), and
never recurses in Python (deep trees cannot overflow the stack).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable

import libcst as cst

__all__ = ["walk", "child_nodes", "COMMENT_HINT"]

_OP_BASES = (cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp)
_PUNCTUATION = (
    cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.TrailingWhitespace, cst.EmptyLine,
    cst.Newline, cst.Comment, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
    cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.ImportStar, cst.Asynchronous,
)  # fmt: skip
_SKIP: frozenset[type] = frozenset(
    {
        *_PUNCTUATION,
        *(
            c
            for c in vars(cst).values()
            if inspect.isclass(c) and issubclass(c, cst.CSTNode) and issubclass(c, _OP_BASES)
        ),
    }
)
COMMENT_HINT = re.compile(
    r"#[^\n]*?(nosec|noqa|stopbox|type\s*:\s*ignore|pylint|pyright|mypy|bandit|semgrep|ruff|"
    r"pragma|safety|nosonar|lgtm|codeql|skipcq|pyre|snyk|checkov|flake8|pycodestyle|isort|fmt)",
    re.I,
)
"""Whitespace (where comments live) is walked only when a comment could matter to a rule."""

_WHITESPACE_FIELDS = re.compile(
    r"whitespace.*|lpar|rpar|leading_lines|trailing_whitespace|header|footer|"
    r"lines_after_decorators|comma|semicolon|dot|colon|equal|newline|lbracket|rbracket|"
    r"lbrace|rbrace|star_tok|asynchronous|operator|default_indent|default_newline|encoding|"
    r"has_trailing_newline|indent"
)
_FIELDS: dict[tuple[type, bool], tuple[str, ...]] = {}
_NODE_TYPES: frozenset[type] = frozenset(
    c for c in vars(cst).values() if inspect.isclass(c) and issubclass(c, cst.CSTNode)
)
"""Concrete libcst node classes: ``type(x) in _NODE_TYPES`` avoids the ABC isinstance path."""


def _fields(kind: type, full: bool) -> tuple[str, ...]:
    names = _FIELDS.get((kind, full))
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if full or not _WHITESPACE_FIELDS.fullmatch(f.name)
        )
        _FIELDS[(kind, full)] = names
    return names


def child_nodes(node: cst.CSTNode, full: bool = False) -> list[cst.CSTNode]:
    """Direct children in field order; whitespace and punctuation only when ``full``."""
    out: list[cst.CSTNode] = []
    for name in _fields(type(node), full):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            if full or type(value) not in _SKIP:
                out.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, cst.CSTNode) and (full or type(item) not in _SKIP):
                    out.append(item)
    return out


def walk(
    root: cst.CSTNode,
    enter: Callable[[cst.CSTNode], None],
    leave: Callable[[cst.CSTNode], None],
    full: bool = False,
) -> None:
    """Call ``enter`` on every node in source order and ``leave`` after its subtree."""
    skip: frozenset[type] = frozenset() if full else _SKIP
    node_types = _NODE_TYPES
    fields_cache = _FIELDS
    stack: list[tuple[cst.CSTNode, bool]] = [(root, False)]
    pop, push = stack.pop, stack.append
    while stack:
        node, done = pop()
        if done:
            leave(node)
            continue
        enter(node)
        push((node, True))
        kind = type(node)
        names = fields_cache.get((kind, full)) or _fields(kind, full)
        children: list[tuple[cst.CSTNode, bool]] = []
        for name in names:
            value = getattr(node, name)
            kind = type(value)
            if kind in node_types:
                if kind not in skip:
                    children.append((value, False))
            elif kind is list or kind is tuple:
                for item in value:
                    item_kind = type(item)
                    if item_kind in node_types and item_kind not in skip:
                        children.append((item, False))
                    elif item_kind not in node_types and isinstance(item, cst.CSTNode):
                        children.append((item, False))  # a node class libcst does not export
            elif value is not None and isinstance(value, cst.CSTNode) and kind not in skip:
                children.append((value, False))
        children.reverse()
        stack.extend(children)
