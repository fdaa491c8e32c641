"""Sandbox backends behind one interface (DESIGN.md §3)."""

from stopbox.harness.sandbox._base import (
    ExecResult,
    Job,
    Proxy,
    RpcError,
    RpcHandler,
    Sandbox,
    Status,
    available_backends,
    backend,
    backend_names,
    get_backend,
    started,
)

__all__ = [
    "ExecResult",
    "Job",
    "Proxy",
    "RpcError",
    "RpcHandler",
    "Sandbox",
    "Status",
    "available_backends",
    "backend",
    "backend_names",
    "get_backend",
    "started",
]
