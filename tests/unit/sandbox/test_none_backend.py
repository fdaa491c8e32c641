"""The explicit unsafe `none` backend."""

from __future__ import annotations

import pytest

from stopbox.harness.errors import SandboxUnavailableError
from stopbox.harness.policy import default_policy
from stopbox.harness.sandbox import Proxy, Status, get_backend


def test_refuses_without_the_unsafe_flag() -> None:
    sb = get_backend("none", default_policy())
    with pytest.raises(SandboxUnavailableError, match="unsafe-no-sandbox"):
        sb.start()
    with pytest.raises(SandboxUnavailableError):
        sb.job("x = 1\n")


def test_runs_in_process_when_asked_explicitly() -> None:
    sb = get_backend("none", default_policy(), unsafe=True)
    sb.start()
    calls = []

    def rpc(obj: str, method: str, args: list[object], kwargs: dict[str, object]) -> object:
        calls.append((obj, method))
        return 7

    src = "print('hi')\ndef f(u):\n    return u(1) + 1\ndef bad():\n    raise KeyError('k')\n"
    with sb.job(src, rpc=rpc) as job:
        assert job.load_result.stdout == "hi\n"
        res = job.call("f", [Proxy("utility", callable=True)])
        assert res.ok and res.value == 8
        assert job.call("bad").status is Status.ERROR
        assert job.call("missing").status is Status.ERROR
    assert calls == [("utility", "__call__")]
