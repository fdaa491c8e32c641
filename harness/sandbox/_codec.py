"""Values and frames on the sandbox wire (docs/contracts.md §1).

Standalone on purpose: the worker imports this file from its own directory, so it may use only
the standard library (numpy is used when it is importable).  Never pickle.

* A *frame* is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
* A *value* is JSON plus tagged objects: ``{"__ndarray__": {"dtype", "shape", "b64"}}``,
  ``{"__tuple__": [...]}``, ``{"__float__": "nan"|"inf"|"-inf"}``, ``{"__set__": [...]}``,
  ``{"__dict__": [[k, v], ...]}`` (non-str keys), ``{"__bytes__": b64}``; numpy scalars become
  Python scalars; anything else is ``{"__unencodable__": "<type name>"}``.  ``{"__stopbox_proxy__":
  ...}`` objects are produced/consumed by the ``proxy_encoder``/``proxy_decoder`` hooks.
"""

from __future__ import annotations

import base64
import json
import math
import os
import struct
from collections.abc import Callable
from typing import Any

try:  # numpy is optional for the codec itself
    import numpy as _np
except ImportError:  # pragma: no cover - numpy is a dependency of stopbox
    _np = None  # type: ignore[assignment]

__all__ = [
    "MAX_FRAME",
    "FrameError",
    "encode",
    "decode",
    "dumps_frame",
    "read_frame",
    "write_frame",
    "FrameReader",
]

MAX_FRAME = 64 * 1024 * 1024
"""Largest frame either side accepts (bytes of JSON)."""
_HEADER = struct.Struct(">I")
_TAGS = (
    "__ndarray__",
    "__tuple__",
    "__float__",
    "__set__",
    "__dict__",
    "__bytes__",
    "__unencodable__",
    "__stopbox_proxy__",
)
_MAX_DEPTH = 200
_MAX_FRAME_DEPTH = 2 * _MAX_DEPTH + 16
"""Deepest JSON nesting a frame may have (a tag is two levels; the envelope adds a few)."""


class FrameError(Exception):
    """A frame is malformed, too large, or the stream ended in the middle of one."""


def _encode_float(value: float) -> Any:
    if math.isnan(value):
        return {"__float__": "nan"}
    if math.isinf(value):
        return {"__float__": "inf" if value > 0 else "-inf"}
    return value


def encode(
    value: Any,
    proxy_encoder: Callable[[Any], dict[str, Any] | None] | None = None,
    _depth: int = 0,
) -> Any:
    """Turn ``value`` into plain JSON data (see module docstring)."""
    if _depth > _MAX_DEPTH:
        return {"__unencodable__": "too deeply nested"}
    d = _depth + 1
    if value is None or value is True or value is False or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _encode_float(float(value))
    if isinstance(value, list):
        return [encode(v, proxy_encoder, d) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, proxy_encoder, d) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(k in _TAGS for k in value):
            return {k: encode(v, proxy_encoder, d) for k, v in value.items()}
        return {
            "__dict__": [
                [encode(k, proxy_encoder, d), encode(v, proxy_encoder, d)] for k, v in value.items()
            ]
        }
    if isinstance(value, set | frozenset):
        return {"__set__": [encode(v, proxy_encoder, d) for v in value]}
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if _np is not None:
        if isinstance(value, _np.ndarray):
            if value.dtype.hasobject:
                return {"__unencodable__": "numpy.ndarray[object]"}
            arr = _np.ascontiguousarray(value)
            return {
                "__ndarray__": {
                    "dtype": arr.dtype.str,
                    "shape": list(arr.shape),
                    "b64": base64.b64encode(arr.tobytes()).decode("ascii"),
                }
            }
        if isinstance(value, _np.generic):
            return encode(value.item(), proxy_encoder, d)
    if proxy_encoder is not None:
        encoded = proxy_encoder(value)
        if encoded is not None:
            return encoded
    return {"__unencodable__": type(value).__name__}


_FLOAT_TAGS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_MAX_DIMS = 32


def _decode_ndarray(spec: Any) -> Any:
    if _np is None:  # pragma: no cover
        raise FrameError("numpy array received but numpy is not available")
    if not isinstance(spec, dict) or not isinstance(spec.get("dtype"), str):
        raise FrameError("malformed __ndarray__")
    shape_in, b64 = spec.get("shape"), spec.get("b64")
    if not isinstance(shape_in, list) or len(shape_in) > _MAX_DIMS or not isinstance(b64, str):
        raise FrameError("malformed __ndarray__ shape or data")
    if not all(type(n) is int and 0 <= n < 1 << 40 for n in shape_in):
        raise FrameError("malformed __ndarray__ shape")
    dtype = _np.dtype(spec["dtype"])
    if dtype.hasobject:
        raise FrameError("object arrays are not accepted")
    shape = tuple(shape_in)
    raw = base64.b64decode(b64, validate=True)
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw):
        raise FrameError(f"__ndarray__ holds {len(raw)} bytes, its shape and dtype say otherwise")
    return _np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(
    data: Any,
    proxy_decoder: Callable[[dict[str, Any]], Any] | None = None,
) -> Any:
    """Inverse of :func:`encode`.  Unknown proxies stay plain dicts when no decoder is given.

    Data from the other side of a pipe is untrusted: anything malformed (a tag with the wrong
    shape, nesting deeper than the cap, a bad array, an unhashable set member) raises
    :class:`FrameError`, never another exception.  Exceptions raised by ``proxy_decoder`` pass.
    """
    try:
        return _decode(data, proxy_decoder, 0)
    except FrameError:
        raise
    except _ProxyFailure as exc:
        raise exc.original from None
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError,
            MemoryError, IndexError) as exc:  # fmt: skip
        raise FrameError(f"malformed value: {type(exc).__name__}: {str(exc)[:200]}") from None


class _ProxyFailure(Exception):
    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def _decode(data: Any, proxy_decoder: Callable[[dict[str, Any]], Any] | None, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise FrameError("value nested too deeply")
    d = depth + 1
    if isinstance(data, list):
        return [_decode(v, proxy_decoder, d) for v in data]
    if not isinstance(data, dict):
        if isinstance(data, float) and not math.isfinite(data):
            raise FrameError("non-finite float outside a __float__ tag")
        return data
    if len(data) == 1:
        ((tag, inner),) = data.items()
        if tag in ("__tuple__", "__set__", "__dict__") and not isinstance(inner, list):
            raise FrameError(f"malformed {tag}: expected a list")
        if tag == "__tuple__":
            return tuple(_decode(v, proxy_decoder, d) for v in inner)
        if tag == "__float__":
            if not isinstance(inner, str) or inner not in _FLOAT_TAGS:
                raise FrameError("malformed __float__: expected nan, inf or -inf")
            return _FLOAT_TAGS[inner]
        if tag == "__set__":
            return {_decode(v, proxy_decoder, d) for v in inner}
        if tag == "__dict__":
            if not all(isinstance(kv, list) and len(kv) == 2 for kv in inner):
                raise FrameError("malformed __dict__: expected [key, value] pairs")
            return {_decode(k, proxy_decoder, d): _decode(v, proxy_decoder, d) for k, v in inner}
        if tag == "__bytes__":
            if not isinstance(inner, str):
                raise FrameError("malformed __bytes__")
            return base64.b64decode(inner, validate=True)
        if tag == "__ndarray__":
            return _decode_ndarray(inner)
        if tag == "__unencodable__":
            return data
    if "__stopbox_proxy__" in data:
        if proxy_decoder is None:
            return data
        try:
            return proxy_decoder(data)
        except FrameError:
            raise
        except Exception as exc:  # noqa: BLE001 - the decoder's own failure, re-raised as is
            raise _ProxyFailure(exc) from None
    return {k: _decode(v, proxy_decoder, d) for k, v in data.items()}


def dumps_frame(message: Any) -> bytes:
    """Serialise an already-encoded message into one frame (FrameError when it cannot be)."""
    try:
        body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, RecursionError) as exc:
        raise FrameError(f"message cannot be framed: {exc}") from None
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes exceeds the {MAX_FRAME} byte cap")
    return _HEADER.pack(len(body)) + body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} overflows a float")
    return value


def _too_deep(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` (iterative: no recursion on hostile data)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _parse(body: bytes) -> Any:
    """One frame body -> a JSON value, or FrameError: not UTF-8, not JSON, NaN/Infinity, a
    number that overflows, a huge integer, or nesting deeper than ``_MAX_FRAME_DEPTH``."""
    try:
        value = json.loads(
            body.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float
        )
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError) as exc:
        raise FrameError(f"frame is not UTF-8 JSON: {str(exc)[:200]}") from None
    if isinstance(value, dict | list) and body.count(b"[") + body.count(b"{") > _MAX_FRAME_DEPTH:
        if _too_deep(value, _MAX_FRAME_DEPTH):
            raise FrameError(f"frame nests deeper than {_MAX_FRAME_DEPTH} levels")
    return value


def write_frame(fd: int, message: Any) -> None:
    """Write one frame to a file descriptor (all bytes, retrying short writes)."""
    data = memoryview(dumps_frame(message))
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, max_frame: int = MAX_FRAME) -> Any:
    """Read one frame from a blocking fd; EOFError at a clean end, FrameError when malformed."""
    try:
        header = _read_exact(fd, 4)
    except EOFError:
        raise
    (size,) = _HEADER.unpack(header)
    if size > max_frame:
        raise FrameError(f"frame of {size} bytes exceeds the {max_frame} byte cap")
    try:
        body = _read_exact(fd, size)
    except EOFError:
        raise FrameError("stream ended inside a frame") from None
    return _parse(body)


class FrameReader:
    """Incremental frame parser for non-blocking reads: ``feed(bytes) -> [message, ...]``."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[Any]:
        """Append bytes; every complete message (FrameError when one is malformed)."""
        return [msg for msg, _ in self.feed_sized(data)]

    def feed_sized(self, data: bytes) -> list[tuple[Any, int]]:
        """As :meth:`feed`, each message with its frame's size in bytes."""
        self._buf += data
        out = []
        while len(self._buf) >= 4:
            (size,) = _HEADER.unpack_from(self._buf)
            if size > self._max:
                raise FrameError(f"frame of {size} bytes exceeds the {self._max} byte cap")
            if len(self._buf) < 4 + size:
                break
            body = bytes(self._buf[4 : 4 + size])
            del self._buf[: 4 + size]
            out.append((_parse(body), 4 + size))
        return out

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return len(self._buf)
