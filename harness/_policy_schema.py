"""Validation of policy tables: pydantic models built from the frozen :class:`Policy` dataclasses.

The dataclasses in ``harness/policy.py`` stay the one description of a policy.  Their type hints
(with ``Annotated`` constraints: :class:`Choice`, ``annotated_types`` bounds) become pydantic
models here, once, so a field added to a dataclass with a default is validated and shows up in
``stopbox policy schema`` with no second edit.  Numbers without a declared range must be finite
and non-negative; lists of strings must hold non-empty strings.  Validation runs in pydantic's
strict JSON mode: ``true`` is not an integer, ``5.0`` is not an integer, ``"5"`` is not a number.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import inspect
import json
import math
import os
import re
import textwrap
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import annotated_types as at

from stopbox.harness.errors import PolicyError

__all__ = ["Choice", "validate", "json_schema", "describe"]

_EXCLUDED = {"source"}
"""Fields of a policy dataclass that are not keys of a policy file."""


class Choice:
    """``Annotated[str, Choice(("a", "b"))]``: the value is one of ``values`` (a JSON Schema
    enum; the error names them)."""

    __slots__ = ("values",)

    def __init__(self, values: Sequence[str]) -> None:
        self.values = tuple(values)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.literal_schema(list(self.values))

    def __repr__(self) -> str:
        return f"Choice({self.values!r})"


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _split(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """(base type, Annotated metadata)."""
    if typing.get_origin(tp) is Annotated:
        base, *meta = typing.get_args(tp)
        return base, tuple(meta)
    return tp, ()


def _with_default_bounds(tp: Any) -> Any:
    """Bare ``int``/``float``: non-negative (and finite, by the model config); bare
    ``tuple[str, ...]``: non-empty strings."""
    if tp is int or tp is float:
        return Annotated[tp, at.Ge(0)]
    if typing.get_origin(tp) is tuple and typing.get_args(tp) == (str, ...):
        return tuple[Annotated[str, at.MinLen(1)], ...]
    return tp


def _attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under each field of a dataclass (for the JSON Schema)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


_DATACLASS_OF: dict[type, type] = {}


@functools.cache
def model_for(cls: type) -> Any:
    """The pydantic model validating a table of dataclass ``cls`` (nested dataclasses too)."""
    from pydantic import BaseModel, ConfigDict, Field, create_model

    hints = typing.get_type_hints(cls, include_extras=True)
    docs = _attribute_docs(cls)
    definitions: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in _EXCLUDED:
            continue
        tp = _with_default_bounds(hints[f.name])
        extra: dict[str, Any] = {}
        if f.name in docs:
            extra["description"] = docs[f.name]
        if _is_dataclass_type(tp):
            nested = model_for(tp)
            definitions[f.name] = (nested, Field(default_factory=nested, **extra))
        elif f.default is not dataclasses.MISSING:
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            definitions[f.name] = (tp, Field(default=default, **extra))
        elif f.default_factory is not dataclasses.MISSING:
            definitions[f.name] = (tp, Field(default_factory=f.default_factory, **extra))
        else:
            definitions[f.name] = (tp, Field(**extra))
    config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, title=cls.__name__, frozen=True
    )
    model = create_model(cls.__name__, __config__=config, **definitions)
    assert issubclass(model, BaseModel)
    _DATACLASS_OF[model] = cls
    return model


def _build(model_instance: Any) -> Any:
    """The frozen dataclass from a validated model: only the keys the file set, so every other
    field keeps its dataclass default."""
    cls = _DATACLASS_OF[type(model_instance)]
    kwargs: dict[str, Any] = {}
    for name in model_instance.model_fields_set:
        value = getattr(model_instance, name)
        if type(value) in _DATACLASS_OF:
            value = _build(value)
        kwargs[name] = value
    return cls(**kwargs)


def _json_default(value: Any) -> str:
    return f"<{type(value).__name__} {value}>"  # TOML dates and times: never a valid value


def validate(cls: type, data: Mapping[str, Any], file: str) -> Any:
    """Validate ``data`` (a merged policy table) into an instance of dataclass ``cls``;
    :class:`PolicyError` naming the file, the key and what is allowed otherwise.

    Importing pydantic and building the models costs about 0.3 s of CPU, a quarter of a
    one-file ``stopbox audit``: a table that passed once (same content, same validation code)
    is remembered in the user's cache and then built without pydantic."""
    text = json.dumps(data, default=_json_default, sort_keys=True)
    marker = _verdict_file(cls, text)
    if marker is not None and marker.exists():
        return _construct(cls, data)
    from pydantic import ValidationError

    model = model_for(cls)
    try:
        instance = model.model_validate_json(text)
    except ValidationError as exc:
        raise _policy_error(file, model, data, exc.errors()[0]) from None
    result = _build(instance)
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only cache only costs the next load the pydantic path
    return result


def _verdict_file(cls: type, text: str) -> Path | None:
    """Where the verdict "this table is valid" is remembered; None when caching is off.  The key
    covers the table and the validation code (policy.py and this module, by size and mtime)."""
    if os.environ.get("STOPBOX_NO_CACHE"):
        return None
    code = [Path(__file__), Path(inspect.getfile(cls))]
    try:
        stamp = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in code]
    except (OSError, TypeError):
        return None
    key = hashlib.sha256(json.dumps([cls.__qualname__, stamp, text]).encode()).hexdigest()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stopbox" / "policies" / f"{key}.valid"


def _construct(cls: type, data: Mapping[str, Any]) -> Any:
    """Build the dataclass from a table known valid: what :func:`_build` gives, without pydantic
    (lists become tuples, integers in float fields become floats)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        base, _ = _split(hints[name])
        if _is_dataclass_type(base):
            value = _construct(base, value)
        elif typing.get_origin(base) is tuple:
            value = tuple(value)
        elif typing.get_origin(base) is dict:
            value = dict(value)
        elif base is float and isinstance(value, int):
            value = float(value)
        kwargs[name] = value
    return cls(**kwargs)


def _lookup(data: Any, loc: Sequence[Any]) -> Any:
    for part in loc:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return "?"
    return data


def _field_type(model: Any, loc: Sequence[Any]) -> Any:
    """The annotated type at ``loc`` (descending into nested models, lists and tables)."""
    tp: Any = model
    for part in loc:
        base, _ = _split(tp)
        if isinstance(base, type) and hasattr(base, "model_fields"):
            if part not in base.model_fields:
                return None
            info = base.model_fields[part]
            tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        elif typing.get_origin(base) is dict:
            tp = typing.get_args(base)[1]
        elif typing.get_origin(base) is tuple:
            tp = typing.get_args(base)[0]
        else:
            return tp
    return tp


def _key(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "-"


def _policy_error(file: str, model: Any, data: Any, err: Mapping[str, Any]) -> PolicyError:
    loc = [part for part in err["loc"] if part != "[key]"]
    key = _key(loc)
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        parent, _ = _split(_field_type(model, loc[:-1]))
        names = list(getattr(parent, "model_fields", {}))
        if not loc[:-1]:
            names.append("extends")
        return PolicyError(file, key, f"unknown key; allowed: {', '.join(names)}")
    got = _lookup(data, loc)
    allowed = describe(_field_type(model, loc))
    return PolicyError(file, key, f"got {_show(got)}; allowed: {allowed}")


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def _bounds(meta: Sequence[Any]) -> str:
    low = high = ""
    for m in meta:
        if isinstance(m, at.Ge):
            low = f">= {m.ge}"
        elif isinstance(m, at.Gt):
            low = f"> {m.gt}"
        elif isinstance(m, at.Le):
            high = f"<= {m.le}"
        elif isinstance(m, at.Lt):
            high = f"< {m.lt}"
    if low.startswith(">=") and high.startswith("<="):
        return f"from {low[3:]} to {high[3:]}"
    return " and ".join(part for part in (low, high) if part)


def describe(tp: Any) -> str:
    """What a value of type ``tp`` may be, in words (used in every error message)."""
    base, meta = _split(tp)
    for m in meta:
        if isinstance(m, Choice):
            return ", ".join(m.values)
    if base is bool:
        return "true or false"
    if base is int:
        return " ".join(("an integer", _bounds(meta))).strip()
    if base is float:
        return " ".join(("a finite number", _bounds(meta))).strip()
    if base is str:
        return "a non-empty string" if any(isinstance(m, at.MinLen) for m in meta) else "a string"
    origin = typing.get_origin(base)
    if origin is tuple:
        item = describe(typing.get_args(base)[0])
        return "a list of " + re.sub(r"^an? ", "", item) + ("s" if item.endswith("string") else "")
    if origin is dict:
        return f"a table of name = ({describe(typing.get_args(base)[1])})"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in typing.get_args(base))
    if base is type(None):
        return "nothing"
    if isinstance(base, type) and hasattr(base, "model_fields"):
        return "a table"
    return getattr(base, "__name__", str(base))


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of a policy file (for editors; ``stopbox policy schema``)."""
    schema: dict[str, Any] = model_for(cls).model_json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "stopbox policy",
        "description": (
            "A stopbox policy file (TOML). Unknown keys are errors; `extends` names a shipped "
            "policy or a path whose tables are merged first."
        ),
        **{k: v for k, v in schema.items() if k != "title"},
    }
    schema["properties"] = {
        "extends": {"type": "string", "description": "A shipped policy name or a path."},
        **schema.get("properties", {}),
    }
    return schema
