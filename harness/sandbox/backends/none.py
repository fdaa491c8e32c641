"""`none` backend: runs untrusted code *in the harness process*.  Debugging only.

It refuses to start unless constructed with ``unsafe=True`` (``stopbox exec --backend none
--unsafe-no-sandbox``).  Nothing is confined: no limits except a best-effort per-call timeout
check after the fact, no output cap beyond truncation.
"""

from __future__ import annotations

import contextlib
import io
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from stopbox.harness.errors import SandboxUnavailableError
from stopbox.harness.policy import Policy
from stopbox.harness.sandbox._base import (
    ExecResult,
    Job,
    Proxy,
    RpcHandler,
    Sandbox,
    Status,
    backend,
)

__all__ = ["NoneSandbox"]


class _LocalProxy:
    """In-process stand-in for a :class:`Proxy`: calls go straight to the RPC handler."""

    def __init__(self, proxy: Proxy, rpc: RpcHandler | None) -> None:
        object.__setattr__(self, "_p", proxy)
        object.__setattr__(self, "_rpc", rpc)

    def _call(self, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        rpc = object.__getattribute__(self, "_rpc")
        if rpc is None:
            raise RuntimeError("this job has no RPC handler")
        return rpc(object.__getattribute__(self, "_p").name, method, list(args), dict(kwargs))

    def __getattr__(self, attr: str) -> Any:
        p: Proxy = object.__getattribute__(self, "_p")
        if attr in p.attrs:
            return p.attrs[attr]
        if attr in p.live:
            return self._call("__getattr__", (attr,), {})
        if attr in p.methods:
            return lambda *a, **k: self._call(attr, a, k)
        raise AttributeError(attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        self._call("__setattr__", (attr, value), {})
        raise AttributeError(f"{object.__getattribute__(self, '_p').name}.{attr} is read-only")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("__call__", args, kwargs)


class _InProcessJob(Job):
    def __init__(
        self,
        sandbox: NoneSandbox,
        source: str,
        filename: str,
        rpc: RpcHandler | None,
        as_script: bool,
    ) -> None:
        self.sandbox, self.rpc = sandbox, rpc
        self.namespace: dict[str, Any] = {
            "__name__": "__main__" if as_script else "candidate",
            "__file__": filename,
        }
        self.results: list[ExecResult] = []
        self.load_result = self._run(
            lambda: exec(compile(source, filename, "exec"), self.namespace)
        )

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, Proxy):
            return _LocalProxy(value, self.rpc)
        if isinstance(value, list | tuple):
            return type(value)(self._wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    def _run(self, fn: Any, timeout: float | None = None) -> ExecResult:
        out, err = io.StringIO(), io.StringIO()
        start, cpu = time.monotonic(), time.process_time()
        status, value, error = Status.OK, None, None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                value = fn()
            except MemoryError:
                status, error = Status.MEMORY, traceback.format_exc()
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    status, error = Status.ERROR, traceback.format_exc()
            except Exception:
                status, error = Status.ERROR, traceback.format_exc()
        wall = time.monotonic() - start
        if timeout is not None and wall > timeout and status is Status.OK:
            status, error = Status.TIMEOUT, f"call took {wall:.3f} s > {timeout:g} s"
        cap = self.sandbox.policy.sandbox.output_bytes
        so, se = out.getvalue(), err.getvalue()
        res = ExecResult(
            status,
            value,
            so[:cap],
            se[:cap],
            wall,
            time.process_time() - cpu,
            error=error,
            truncated=len(so) > cap or len(se) > cap,
            events=({"kind": "sandbox", "event": "layers", "unsafe": True},),
        )
        return res

    def call(
        self,
        entry: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        fn = self.namespace.get(entry)
        if fn is None:
            res = ExecResult(Status.ERROR, error=f"no such entry point: {entry}")
        else:
            a, k = self._wrap(list(args)), self._wrap(dict(kwargs or {}))
            res = self._run(lambda: fn(*a, **k), timeout)
        self.results.append(res)
        return res

    def close(self) -> ExecResult:
        allr = [self.load_result, *self.results]
        bad = next((r for r in allr if not r.ok), None)
        last = allr[-1]
        return ExecResult(
            bad.status if bad else Status.OK,
            last.value,
            "".join(r.stdout for r in allr),
            "".join(r.stderr for r in allr),
            sum(r.wall_s for r in allr),
            sum(r.cpu_s for r in allr),
            events=last.events,
            error=bad.error if bad else None,
            truncated=any(r.truncated for r in allr),
        )


@backend("none")
class NoneSandbox(Sandbox):
    """No sandbox at all.  Construct with ``unsafe=True`` or it refuses to start."""

    def __init__(
        self, policy: Policy, *, pool_size: int | None = None, unsafe: bool = False, **_: Any
    ) -> None:
        super().__init__(policy, pool_size=pool_size)
        self.unsafe = unsafe

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def start(self) -> None:
        if not self.unsafe:
            raise SandboxUnavailableError(
                "backend 'none' runs untrusted code in the harness process without any sandbox; "
                "it refuses to start unless asked explicitly (--unsafe-no-sandbox)"
            )

    def job(
        self,
        source: str,
        *,
        filename: str = "candidate.py",
        rpc: RpcHandler | None = None,
        as_script: bool = False,
    ) -> Job:
        self.start()
        return _InProcessJob(self, source, filename, rpc, as_script)

    def close(self) -> None:
        return None
