"""What the self-check watches on the host besides files and listeners (issue 9 classes).

* host file metadata (mode, owner, mtime, ctime, xattrs) of canaries and of the harness's own
  worker files: ctime shows even a change that was undone;
* host SysV IPC (``/proc/sysvipc/*``): a world-writable host segment keeps its contents, and no
  segment, message queue or semaphore set appears because of a job (any that does is removed);
* the worker launchers: attacks on the worker (malformed frames, signals, hostile trees) must
  leave the same workers running.

Only the standard library and ``/proc``; nothing here trusts what a job reports.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["HostView", "ipc_rows", "made_elsewhere", "metadata", "sysvipc"]

_IPC_CREAT, _IPC_RMID = 0o1000, 0


def metadata(path: str | Path) -> tuple[Any, ...]:
    """mode, uid, gid, mtime_ns, ctime_ns and xattrs of ``path`` (not following links)."""
    st = os.lstat(path)
    xattrs: dict[str, bytes] = {}
    with contextlib.suppress(OSError):
        for name in os.listxattr(path, follow_symlinks=False):
            with contextlib.suppress(OSError):
                xattrs[name] = os.getxattr(path, name, follow_symlinks=False)
    return (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns, xattrs)


def sysvipc() -> dict[str, set[tuple[str, str]]]:
    """(key, id) of every SysV shm segment, message queue and semaphore set on the host."""
    return {kind: {(r["key"], r["id"]) for r in rows} for kind, rows in ipc_rows().items()}


def ipc_rows() -> dict[str, list[dict[str, str]]]:
    """Every row of ``/proc/sysvipc/{shm,msg,sem}`` by column name (``id`` for the object id)."""
    out: dict[str, list[dict[str, str]]] = {}
    for kind in ("shm", "msg", "sem"):
        rows: list[dict[str, str]] = []
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
            head = [h if i != 1 else "id" for i, h in enumerate(lines[0].split())] if lines else []
            for line in lines[1:]:
                rows.append(dict(zip(head, line.split(), strict=False)))
        out[kind] = rows
    return out


def made_elsewhere(kind: str, row: dict[str, str], harness_uid: int) -> bool:
    """An IPC object another program on this host made (the host may be busy): a segment whose
    creator is alive and not a sandbox process, a queue or set owned by the harness's own uid
    (jobs run as an unprivileged uid; a job that was host root is caught by other checks)."""
    if kind == "shm":
        cpid = row.get("cpid", "0")
        return cpid.isdigit() and cpid != "0" and os.path.exists(f"/proc/{cpid}")
    return row.get("cuid") == str(harness_uid)


class HostView:
    """Host-side canaries for one self-check run (use as a context manager)."""

    def __init__(self, canary_dir: Path, worker_dir: Path | None, token: str) -> None:
        self.dir = canary_dir
        self.token = token.encode()[:48]
        self.setuid_target = canary_dir / "true"
        self.targets = [canary_dir, self.setuid_target]
        if worker_dir is not None and worker_dir.is_dir():
            self.targets += sorted(p for p in worker_dir.iterdir() if p.is_file())
        self.shm_key = 0x5E000000 | secrets.randbelow(1 << 20)
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.shmat.restype = ctypes.c_void_p
        self._libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
        self._libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
        self._shmid = -1
        self._addr: int | None = None
        self._saved: dict[str, tuple[Any, ...]] = {}
        self._ipc: dict[str, set[tuple[str, str]]] = {}

    def __enter__(self) -> HostView:
        if os.path.exists("/bin/true"):
            shutil.copy2("/bin/true", self.setuid_target)
            os.chmod(self.setuid_target, 0o755)
        else:
            self.setuid_target.write_text("")
        shmid = self._libc.shmget(self.shm_key, 4096, _IPC_CREAT | 0o666)
        if shmid >= 0:
            addr = self._libc.shmat(shmid, None, 0)
            if addr not in (None, ctypes.c_void_p(-1).value):
                self._shmid, self._addr = shmid, addr
                ctypes.memmove(addr, self.token, len(self.token))
        self.snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._addr is not None:
            self._libc.shmdt(ctypes.c_void_p(self._addr))
        if self._shmid >= 0:
            self._libc.shmctl(self._shmid, _IPC_RMID, None)

    def context(self) -> dict[str, Any]:
        """Keys added to an attack's ``ctx``: where the host-side canaries are."""
        return {
            "metadata_targets": [str(p) for p in self.targets],
            "shm_key": self.shm_key,
        }

    def snapshot(self) -> None:
        self._saved = {}
        for p in self.targets:
            with contextlib.suppress(OSError):
                self._saved[str(p)] = metadata(p)
        self._ipc = sysvipc()

    def escapes(self) -> list[str]:
        """What changed on the host since :meth:`snapshot` (and undo it where possible)."""
        out = []
        fields = ("mode", "uid", "gid", "mtime", "ctime", "xattrs")
        for path, old in self._saved.items():
            try:
                new = metadata(path)
            except OSError:
                out.append(f"host file {path} was removed")
                continue
            changed = [f for f, a, b in zip(fields, old, new, strict=True) if a != b]
            if changed:
                out.append(f"host file metadata changed ({', '.join(changed)}): {path}")
                self._restore(path, old)
        if self._addr is not None:
            now = ctypes.string_at(self._addr, len(self.token))
            if now != self.token:
                out.append("a host SysV shared-memory segment was overwritten")
                ctypes.memmove(self._addr, self.token, len(self.token))
        for kind, rows in ipc_rows().items():
            known = self._ipc.get(kind, set())
            new_rows = [r for r in rows if (r["key"], r["id"]) not in known]
            left = [r for r in new_rows if not made_elsewhere(kind, r, os.getuid())]
            if left:
                out.append(f"host SysV {kind} objects left behind: "
                           f"{sorted((r['key'], r['id']) for r in left)}")  # fmt: skip
                self._remove_ipc(kind, (r["id"] for r in left))
        self.snapshot()
        return out

    def _restore(self, path: str, old: tuple[Any, ...]) -> None:
        mode, uid, gid, mtime_ns, _ctime, xattrs = old
        with contextlib.suppress(OSError):
            os.chmod(path, mode & 0o7777, follow_symlinks=False)
        with contextlib.suppress(OSError):
            os.chown(path, uid, gid, follow_symlinks=False)
        with contextlib.suppress(OSError):
            os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
        with contextlib.suppress(OSError):
            for name in os.listxattr(path, follow_symlinks=False):
                if name not in xattrs:
                    os.removexattr(path, name, follow_symlinks=False)

    def _remove_ipc(self, kind: str, idents: Iterable[str]) -> None:
        for ident in idents:
            with contextlib.suppress(ValueError):
                if kind == "shm":
                    self._libc.shmctl(int(ident), _IPC_RMID, None)
                elif kind == "msg":
                    self._libc.msgctl(int(ident), _IPC_RMID, None)
                else:
                    self._libc.semctl(int(ident), 0, _IPC_RMID)
