"""Module surfaces (policies/surfaces/modules.toml): every listed name exists in the installed
Python and numpy, nothing that does I/O or reaches past the allow-list is listed, and a policy's
surface_allow / surface_deny change what is reported."""

from __future__ import annotations

import importlib
import types

import pytest

from stopbox import detectors
from stopbox.detectors._surfaces import NUMPY_FILE_IO, NUMPY_NETWORK_IO, load_surfaces
from stopbox.harness.policy import ImportsPolicy, Policy

SURFACES = load_surfaces()


def _module(name: str) -> types.ModuleType:
    top, *rest = name.split(".")
    module: object = importlib.import_module(top)
    for part in rest:
        module = getattr(module, part)
    assert isinstance(module, types.ModuleType), name
    return module


@pytest.mark.parametrize("name", sorted(SURFACES.modules))
def test_every_listed_name_exists(name: str) -> None:
    module = _module(name)
    missing = [n for n in SURFACES.modules[name] if not hasattr(module, n)]
    assert missing == [], (name, missing)


@pytest.mark.parametrize("name", sorted(SURFACES.modules))
def test_surface_lists_no_private_name_and_no_unlisted_module(name: str) -> None:
    module = _module(name)
    for attr in SURFACES.modules[name]:
        assert not (attr.startswith("_") and not attr.startswith("__")), (name, attr)
        value = getattr(module, attr)
        if isinstance(value, types.ModuleType):
            assert f"{name}.{attr}" in SURFACES.modules, (name, attr)


def test_numpy_surface_has_no_io_raw_memory_or_test_helpers() -> None:
    numpy = SURFACES.modules["numpy"]
    banned = {*NUMPY_FILE_IO, *NUMPY_NETWORK_IO, "ctypeslib", "testing", "f2py", "core"}
    assert numpy & banned == set()
    assert {"array", "linalg", "random", "argmax", "float64"} <= numpy
    assert "fromfile" in SURFACES.io["numpy"] and "DataSource" in SURFACES.network["numpy"]


def test_default_imports_have_surfaces() -> None:
    for name in ImportsPolicy().allow:
        if name != "helpers":
            assert name in SURFACES.modules, name


def test_policy_surface_allow_and_deny_change_findings() -> None:
    source = "import math\nx = math.floor(2.5)\nimport numpy as np\ny = np.ctypeslib\n"
    ids = [f.rule_id for f in detectors.scan(source)]
    assert ids.count("IMP006") == 1
    policy = Policy(
        imports=ImportsPolicy(surface_allow=("numpy.ctypeslib",), surface_deny=("math.floor",))
    )
    found = [(f.rule_id, f.line) for f in detectors.scan(source, policy=policy)]
    assert found == [("IMP006", 2)]
