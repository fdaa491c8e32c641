"""Small libcst helpers the rules share."""

from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import is_literal, literal_value

__all__ = [
    "keyword",
    "positional",
    "is_literal_true",
    "describe_value",
    "string_args",
    "assigned_targets",
    "EXEC_FUNCS",
]

EXEC_FUNCS = frozenset({"exec", "eval", "compile"})


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional(call: cst.Call) -> list[cst.BaseExpression]:
    out = []
    for arg in call.args:
        if arg.keyword is not None or arg.star:
            break
        out.append(arg.value)
    return out


def is_literal_true(expr: cst.BaseExpression) -> bool:
    value = literal_value(expr)
    return value is True


def describe_value(expr: cst.BaseExpression, module: cst.Module | None) -> str:
    value = literal_value(expr)
    if is_literal(value):
        return repr(value)
    text = module.code_for_node(expr) if module is not None else type(expr).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def string_args(call: cst.Call) -> list[str]:
    out = []
    for arg in call.args:
        if isinstance(arg.value, cst.SimpleString | cst.ConcatenatedString):
            value = arg.value.evaluated_value
            if isinstance(value, str):
                out.append(value)
    return out


def assigned_targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The expressions written by an assignment-like statement."""
    if isinstance(node, cst.Assign):
        out: list[cst.BaseExpression] = []
        for t in node.targets:
            out.extend(_flatten(t.target))
        return out
    if isinstance(node, cst.AugAssign | cst.AnnAssign):
        return _flatten(node.target)
    if isinstance(node, cst.Del):
        return _flatten(node.target)
    return []


def _flatten(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, cst.Tuple | cst.List):
        out: list[cst.BaseExpression] = []
        for el in target.elements:
            out.extend(_flatten(el.value))
        return out
    return [target]
