"""Shared fixtures: sandbox backends.

* ``backend_name`` — parametrised over every registered backend except ``none``.  A backend that
  cannot start here is skipped with its reason, unless it is listed in the environment variable
  ``STOPBOX_REQUIRE_BACKENDS`` (comma-separated; CI sets it), in which case the test FAILS.
* ``sandbox`` — one started sandbox per backend for the whole session (small pool, test policy).
* ``test_policy`` — the default policy with limits small enough for fast tests.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest

from stopbox.harness.errors import SandboxUnavailableError
from stopbox.harness.policy import Policy, default_policy
from stopbox.harness.sandbox import Sandbox, available_backends, backend_names, get_backend

REAL_BACKENDS = tuple(name for name in backend_names() if name != "none")


def required_backends() -> set[str]:
    return {b.strip() for b in os.environ.get("STOPBOX_REQUIRE_BACKENDS", "").split(",") if b}


def ray_required() -> bool:
    """CI sets STOPBOX_REQUIRE_RAY=1: the Ray tests fail instead of skipping when Ray cannot start
    (ray is not a sandbox backend, so it is not in STOPBOX_REQUIRE_BACKENDS)."""
    return os.environ.get("STOPBOX_REQUIRE_RAY") == "1" or "ray" in required_backends()


def make_test_policy(**sandbox: object) -> Policy:
    """Default policy with test-sized limits (override any ``[sandbox]`` key)."""
    base = default_policy()
    limits = dict(
        wall_s=10.0, call_timeout_s=5.0, cpu_s=5, memory_mb=512, output_bytes=65536, pool_size=2
    )
    limits.update(sandbox)
    return dataclasses.replace(base, sandbox=dataclasses.replace(base.sandbox, **limits))


def require_backend(name: str) -> None:
    """Skip (printing why) when ``name`` cannot start; fail instead when CI requires it."""
    if name not in backend_names():
        reason = f"backend {name!r} is not registered"
    else:
        reason = available_backends().get(name)
    if reason is None:
        return
    if name in required_backends():
        pytest.fail(f"backend {name!r} is required (STOPBOX_REQUIRE_BACKENDS) but: {reason}")
    print(f"SKIP backend {name}: {reason}")
    pytest.skip(f"backend {name!r} unavailable: {reason}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_name" in metafunc.fixturenames:
        names = list(REAL_BACKENDS) + sorted(required_backends() - set(REAL_BACKENDS))
        metafunc.parametrize("backend_name", names, scope="session")


@pytest.fixture(scope="session")
def test_policy() -> Policy:
    return make_test_policy()


_STARTED: dict[str, Sandbox] = {}
_START_FAILED: dict[str, str] = {}


@pytest.fixture(scope="session")
def sandbox(backend_name: str, test_policy: Policy) -> Iterator[Sandbox]:
    """A started sandbox of ``backend_name`` shared by the whole session."""
    require_backend(backend_name)
    if backend_name not in _START_FAILED:
        sb = get_backend(backend_name, test_policy, pool_size=2)
        try:
            sb.start()
        except SandboxUnavailableError as exc:
            sb.close()
            _START_FAILED[backend_name] = str(exc)
    if backend_name in _START_FAILED:  # do not retry a slow failing start for every test
        reason = _START_FAILED[backend_name]
        if backend_name in required_backends():
            pytest.fail(f"backend {backend_name!r} is required but did not start: {reason}")
        print(f"SKIP backend {backend_name}: {reason}")
        pytest.skip(reason)
    _STARTED[backend_name] = sb
    yield sb
    sb.close()
    _STARTED.pop(backend_name, None)
