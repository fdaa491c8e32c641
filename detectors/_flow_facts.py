"""What the one walk over a file records for the capability analysis (``_flow``): parents,
scopes, names and attributes.  Its own module so that the walk (``_context``) and the analysis
(``_flow``) both import it and not each other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

__all__ = ["Scope", "FlowFacts"]


@dataclass(slots=True)
class Scope:
    kind: str
    node: cst.CSTNode | None
    parent: int
    name: str = ""


@dataclass(slots=True)
class FlowFacts:
    """What the walk records for the analysis (only in files that mention a capability)."""

    parents: dict[int, Any] = field(default_factory=dict)
    scopes: list[Scope] = field(default_factory=lambda: [Scope("module", None, -1)])
    stack: list[cst.CSTNode] = field(default_factory=list)
    scope_stack: list[int] = field(default_factory=lambda: [0])
    names: list[tuple[cst.Name, int, Any]] = field(default_factory=list)
    attrs: dict[str, list[tuple[cst.Attribute, int, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    scope_of_def: dict[int, int] = field(default_factory=dict)
    scope_of_name: dict[int, int] = field(default_factory=dict)

    def enter(self, node: Any, ctx: Any) -> None:
        stack = self.stack
        if stack:
            self.parents[id(node)] = stack[-1]
        stack.append(node)
        kind = type(node)
        if kind is cst.Name or kind is cst.Attribute:
            here = (ctx.stmt_path, ".".join(ctx.scope))
        if kind is cst.Name:
            scope = self.scope_stack[-1]
            self.names.append((node, scope, here))
            self.scope_of_name[id(node)] = scope
        elif kind is cst.Attribute:
            self.attrs[node.attr.value].append((node, self.scope_stack[-1], here))
        elif kind in _SCOPE_KINDS:
            name = node.name.value if not isinstance(node, cst.Lambda) else ""
            self.scopes.append(Scope(_SCOPE_KINDS[kind], node, self.scope_stack[-1], name))
            index = len(self.scopes) - 1
            self.scope_of_def[id(node)] = index
            self.scope_stack.append(index)

    def leave(self, node: cst.CSTNode) -> None:
        self.stack.pop()
        if type(node) in _SCOPE_KINDS:
            self.scope_stack.pop()


_SCOPE_KINDS: dict[type, str] = {
    cst.FunctionDef: "function",
    cst.Lambda: "lambda",
    cst.ClassDef: "class",
}
