"""The wire codec: tagged values, frames, caps (no sandbox start-up)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stopbox.harness.sandbox import _codec
from stopbox.harness.sandbox._base import Proxy
from stopbox.harness.sandbox._pool import encode_proxy

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=20,
)


@given(json_like)
def test_round_trip_of_plain_values(value: object) -> None:
    frame = _codec.dumps_frame(_codec.encode(value))
    decoded = _codec.decode(_codec.FrameReader().feed(frame)[0])
    assert decoded == value


def test_tags_for_non_json_values() -> None:
    assert _codec.encode((1, 2)) == {"__tuple__": [1, 2]}
    assert _codec.encode(float("nan")) == {"__float__": "nan"}
    assert _codec.encode(float("-inf")) == {"__float__": "-inf"}
    assert _codec.encode({1: 2}) == {"__dict__": [[1, 2]]}
    assert _codec.encode({"__tuple__": 1}) == {"__dict__": [["__tuple__", 1]]}
    assert _codec.encode(b"\x00") == {"__bytes__": "AA=="}
    assert _codec.encode(np.int64(5)) == 5 and isinstance(_codec.encode(np.float32(1.5)), float)
    assert _codec.encode(object()) == {"__unencodable__": "object"}
    assert _codec.encode(np.array([object()])) == {"__unencodable__": "numpy.ndarray[object]"}
    assert math.isinf(_codec.decode({"__float__": "inf"}))
    assert _codec.decode({"__set__": [1, 2]}) == {1, 2}
    assert _codec.decode({"__dict__": [["__tuple__", 1]]}) == {"__tuple__": 1}


def test_ndarray_round_trip_keeps_dtype_shape_and_is_writable() -> None:
    arr = np.arange(24, dtype=np.int16).reshape(2, 3, 4)[:, ::2]
    back = _codec.decode(_codec.encode(arr))
    assert back.dtype == np.int16 and back.shape == (2, 2, 4)
    assert np.array_equal(back, arr)
    back[0, 0, 0] = 7  # a copy, not a read-only view of the frame


def test_object_arrays_are_refused_on_decode() -> None:
    bad = {"__ndarray__": {"dtype": "|O", "shape": [1], "b64": "AAAAAAAAAAA="}}
    with pytest.raises(_codec.FrameError):
        _codec.decode(bad)


def test_proxy_encoding_matches_the_contract() -> None:
    p = Proxy("language_model", attrs={"budget": (1, 2)}, live=("x",), methods=("prompt",))
    enc = _codec.encode([p], encode_proxy)[0]
    assert enc == {
        "__stopbox_proxy__": "language_model",
        "attrs": {"budget": {"__tuple__": [1, 2]}},
        "live": ["x"],
        "methods": ["prompt"],
        "callable": False,
    }
    assert _codec.decode(enc, lambda spec: ("proxy", spec["__stopbox_proxy__"])) == (
        "proxy",
        "language_model",
    )


def test_frames_split_across_reads_and_oversized_frames() -> None:
    data = _codec.dumps_frame({"a": 1}) + _codec.dumps_frame([2])
    reader = _codec.FrameReader()
    got = []
    for i in range(len(data)):
        got += reader.feed(data[i : i + 1])
    assert got == [{"a": 1}, [2]]
    small = _codec.FrameReader(max_frame=10)
    with pytest.raises(_codec.FrameError):
        small.feed(_codec.dumps_frame("x" * 100))
    with pytest.raises(_codec.FrameError):
        _codec.FrameReader().feed(b"\x00\x00\x00\x03abc")


def test_read_and_write_frame_on_a_pipe() -> None:
    r, w = os.pipe()
    try:
        _codec.write_frame(w, {"op": "x", "v": [1, 2]})
        assert _codec.read_frame(r) == {"op": "x", "v": [1, 2]}
        os.write(w, b"\x00\x00\x00\x10ab")
        os.close(w)
        w = -1
        with pytest.raises(_codec.FrameError):
            _codec.read_frame(r)
        with pytest.raises(EOFError):
            _codec.read_frame(r)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
