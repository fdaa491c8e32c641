"""Host files: their metadata may be neither changed nor read, outside paths may not be watched,
and no secret evaluator, seed split or harness state can be read — checked on the host.

The canaries are root-owned files in a fresh host directory, a copy of ``/bin/true`` (the setuid
target), the worker's own files and files of the checkout.  Everything the job could know about
where the secrets are is tried: the checkout, site-packages (a planted evaluator stands for an
install where stopbox sits beside numpy), the editable-install finder, ``/proc/<harness>/cwd``,
``root``, ``environ``, ``cmdline`` and ``fd`` of every pid it can name, and ``/proc/<pid>/fd`` of
the processes it can see (writing forged frames into any pipe it finds there).
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _outside import metadata, metadata_diff, run_while

from stopbox.harness._resources import data_dir
from stopbox.harness.sandbox import Sandbox

PROJECT = data_dir("harness").parent


@pytest.fixture
def canaries(sandbox: Sandbox) -> Iterator[dict[str, Any]]:
    d = Path(tempfile.mkdtemp(prefix="stopbox-adv-canary-"))
    os.chmod(d, 0o755)
    token = "STOPBOX-ADV-" + secrets.token_hex(8)
    canary = d / f"canary-{token}.txt"
    canary.write_text(token + "x" * random.randint(5000, 9000))
    os.chmod(canary, 0o644)
    mtime = 1_000_000_000 + random.randint(1, 10**8)
    os.utime(canary, (mtime, mtime))
    true = d / "true"
    shutil.copy2("/bin/true", true)
    os.chmod(true, 0o755)
    worker_dir = Path(getattr(sandbox, "_dir", "") or d)
    harness_files = [
        *(p for p in sorted(worker_dir.iterdir()) if p.is_file()),
        PROJECT / "harness" / "policy.py",
        PROJECT / "seeds" / "tasks" / "lpn" / "evaluator.py",
    ]
    targets = [canary, true, d, *harness_files]
    saved = {str(p): metadata(p) for p in targets}
    modes = {str(p): os.lstat(p) for p in targets}
    try:
        yield {
            "dir": str(d),
            "canary": str(canary),
            "token": token,
            "mtime": mtime,
            "size": canary.stat().st_size,
            "ino": canary.stat().st_ino,
            "targets": [str(p) for p in targets],
            "saved": saved,
        }
    finally:
        for path, st in modes.items():  # undo whatever an escape changed on the harness's files
            with contextlib.suppress(OSError):
                os.chmod(path, st.st_mode & 0o7777)
                os.chown(path, st.st_uid, st.st_gid)
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
                for name in os.listxattr(path):
                    if name not in saved[path][5]:
                        os.removexattr(path, name)
        shutil.rmtree(d, ignore_errors=True)


METADATA_ATTACK = r"""
import ctypes, os

def attack(targets):
    libc = ctypes.CDLL(None, use_errno=True)
    AT_EMPTY_PATH, O_PATH = 0x1000, getattr(os, "O_PATH", 0o10000000)
    done = []
    for p in targets:
        b = p.encode()
        tries = {
            "chmod": lambda: os.chmod(p, 0o6777),
            "chown": lambda: os.chown(p, 65534, 65534),
            "lchown": lambda: os.lchown(p, 1, 1),
            "utime": lambda: os.utime(p, (1, 1)),
            "xattr_user": lambda: os.setxattr(p, "user.stopbox", b"pwned"),
            "xattr_trusted": lambda: os.setxattr(p, "trusted.stopbox", b"pwned"),
            "xattr_security": lambda: os.setxattr(p, "security.stopbox", b"pwned"),
            "libc_chmod": lambda: libc.chmod(b, 0o4777) == 0 or 1 / 0,
            "libc_fchmodat": lambda: libc.fchmodat(-100, b, 0o4777, 0) == 0 or 1 / 0,
            "libc_chown": lambda: libc.chown(b, 65534, 65534) == 0 or 1 / 0,
            "libc_utimes": lambda: libc.utimes(b, None) == 0 or 1 / 0,
            "libc_lsetxattr": lambda: libc.lsetxattr(b, b"user.x", b"1", 1, 0) == 0 or 1 / 0,
        }
        for name, fn in tries.items():
            try:
                fn()
                done.append((p, name))
            except BaseException:
                pass
        for flags in (os.O_RDONLY, O_PATH):
            try:
                fd = os.open(p, flags)
            except OSError:
                continue
            for name, fn in (
                ("fchmod", lambda: os.fchmod(fd, 0o4777)),
                ("fchown", lambda: os.fchown(fd, 65534, 65534)),
                ("futimens", lambda: os.utime(fd, (2, 2))),
                ("fsetxattr", lambda: os.setxattr(fd, "user.stopbox", b"fd")),
                ("fchmodat_empty", lambda: libc.fchmodat(fd, b"", 0o4777, AT_EMPTY_PATH) == 0
                 or 1 / 0),
                ("fchownat_empty", lambda: libc.fchownat(fd, b"", 65534, 65534, AT_EMPTY_PATH)
                 == 0 or 1 / 0),
            ):
                try:
                    fn()
                    done.append((p, name))
                except BaseException:
                    pass
            os.close(fd)
    return done
"""


def test_host_file_metadata_cannot_be_changed(sandbox: Sandbox, canaries: dict[str, Any]) -> None:
    """mode, owner, times and xattrs of canaries and of the harness's own files (worker files,
    checkout files) are unchanged on the host; ctime shows even a change that was undone."""
    res = sandbox.exec(METADATA_ATTACK, entry="attack", args=[canaries["targets"]])
    changed = metadata_diff(canaries["saved"])
    assert not changed, f"host file metadata changed ({res.status.value}): {changed}"


METADATA_READ = r"""
import os

def attack(ctx):
    seen = {}
    dirs = [ctx["tmp"], "/tmp", "/", "/root", "/home", "/work"]
    for d in list(dirs):
        try:
            names = sorted(os.listdir(d))
        except OSError as exc:
            seen["ls " + d] = exc.strerror
            continue
        seen["ls " + d] = names
        dirs += [os.path.join(d, n) for n in names if n.startswith(ctx["prefix"])]
    for d in dirs[6:]:
        for n in seen.get("ls " + d, []) if isinstance(seen.get("ls " + d), list) else []:
            try:
                st = os.stat(os.path.join(d, n))
                seen["stat " + n] = [st.st_ino, st.st_size, int(st.st_mtime), st.st_uid]
            except OSError as exc:
                seen["stat " + n] = exc.strerror
    return seen
"""


def test_host_file_metadata_and_listings_cannot_be_read(
    sandbox: Sandbox, canaries: dict[str, Any]
) -> None:
    """A private root: the job cannot stat a host canary (size, inode, mtime) or list the
    directory it is in (its random name)."""
    ctx = {"tmp": tempfile.gettempdir(), "prefix": "stopbox-adv-canary-"}  # no random part
    res = sandbox.exec(METADATA_READ, entry="attack", args=[ctx])
    blob = repr((res.value, res.stdout, res.stderr, res.error))
    leaks = []
    if canaries["token"] in blob:
        leaks.append("the canary's random file name (a listing of its host directory)")
    if str(canaries["mtime"]) in blob or str(canaries["ino"]) in blob:
        leaks.append("the canary's mtime or inode (stat of a host file)")
    if os.path.basename(canaries["dir"]) in blob:
        leaks.append("the canary directory's name (a listing of the host's temp dir)")
    assert not leaks, f"host file metadata readable ({res.status.value}): {leaks}"


INOTIFY = r"""
import ctypes, os, struct, time

def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    names, errors = [], []
    fd = libc.inotify_init1(os.O_NONBLOCK)
    if fd < 0:
        errors.append("inotify_init1 errno %d" % ctypes.get_errno())
    else:
        for p in ctx["watch"]:
            if libc.inotify_add_watch(fd, p.encode(), 0xFFF) < 0:
                errors.append("watch %s errno %d" % (p, ctypes.get_errno()))
    fan = libc.fanotify_init(0, 0)
    if fan >= 0:
        mark = libc.fanotify_mark(fan, 1 | 0x10, 0x20 | 0x1 | 0x2, -100, ctx["watch"][0].encode())
        names.append("fanotify_mark=%d" % mark)
    end = time.monotonic() + 1.2
    while time.monotonic() < end and fd >= 0:
        try:
            data = os.read(fd, 65536)
        except OSError:
            time.sleep(0.02)
            continue
        off = 0
        while off + 16 <= len(data):
            wd, mask, cookie, n = struct.unpack_from("iIII", data, off)
            names.append(data[off + 16: off + 16 + n].rstrip(b"\0").decode(errors="replace"))
            off += 16 + n
    return {"names": names, "errors": errors}
"""


def test_outside_paths_cannot_be_watched(sandbox: Sandbox, canaries: dict[str, Any]) -> None:
    """inotify/fanotify on host directories: a file the harness creates there while the job
    watches must not show up in anything the job returns."""
    tag = "stopbox-adv-watched-" + secrets.token_hex(6)
    tmp = tempfile.gettempdir()
    ctx = {"watch": [canaries["dir"], tmp, str(PROJECT), str(PROJECT / "seeds" / "tasks" / "lpn")]}

    def touch() -> None:
        for d in (canaries["dir"], tmp):
            p = Path(d) / tag
            p.write_text("x")
            p.unlink()

    res, _ = run_while(sandbox, INOTIFY, "attack", [ctx], observe=touch, after=0.5)
    blob = repr((res.value, res.stdout, res.stderr, res.error))
    assert tag not in blob, f"the job watched host directories: {res.value}"


@pytest.fixture
def planted_secret() -> Iterator[tuple[str, str]]:
    """A secret evaluator installed in the site-packages the worker's numpy comes from."""
    site = Path(sysconfig.get_paths()["purelib"])
    pkg = site / f"stopbox_adv_secret_{secrets.token_hex(4)}"
    token = "STOPBOX-ADV-SECRET-" + secrets.token_hex(8)
    pkg.mkdir()
    (pkg / "evaluator.py").write_text(f"SECRET = {token!r}\n")
    try:
        yield str(pkg / "evaluator.py"), token
    finally:
        shutil.rmtree(pkg, ignore_errors=True)


SECRETS_ATTACK = r"""
import glob, os, struct, json

def frame(msg):
    body = json.dumps(msg).encode()
    return struct.pack(">I", len(body)) + body

def attack(ctx):
    got = {}
    paths = list(ctx["paths"])
    for sp in ctx["site"]:
        paths += glob.glob(sp + "/*/evaluator.py") + glob.glob(sp + "/*/tasks/*/evaluator.py")
        paths += glob.glob(sp + "/*/tasks/*/task.toml")
        for finder in glob.glob(sp + "/__editable__*finder.py"):
            try:
                text = open(finder).read()
                got[finder] = text[-400:]
                for root in set(__import__("re").findall(r"'(/[^']+)'", text)):
                    paths += glob.glob(root + "/tasks/*/evaluator.py")
                    paths += glob.glob(root + "/tasks/*/task.toml")
                    paths += glob.glob(os.path.dirname(root) + "/seeds/tasks/*/*")
            except OSError:
                pass
    pids = {ctx["harness_pid"], os.getppid(), 1}
    try:
        pids |= {int(p) for p in os.listdir("/proc") if p.isdigit()}
    except OSError:
        pass
    pids.discard(os.getpid())
    for pid in sorted(pids):
        for rel in ("cwd/seeds/tasks/lpn/evaluator.py", "cwd/seeds/tasks/lpn/task.toml",
                    "root" + ctx["checkout"] + "/seeds/tasks/lpn/evaluator.py",
                    "environ", "cmdline"):
            paths.append("/proc/%d/%s" % (pid, rel))
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            p = "/proc/%d/fd/%s" % (pid, fd)
            try:
                w = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
                os.write(w, frame({"op": "result", "result": {"status": "ok",
                                   "value": "FORGED-HARNESS"}, "status": "ok",
                                   "value": "FORGED-CHILD"}))
                os.close(w)
                got["wrote " + p] = True
                try:
                    r = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
                    got["read " + p] = os.read(r, 65536).decode("latin-1")
                    os.close(r)
                except OSError:
                    pass
            except OSError:
                pass
            paths.append(p)
    for p in paths:
        try:
            with open(p, "rb") as f:
                got[p] = f.read(200000).decode("latin-1")
        except OSError:
            pass
    return got
"""


def test_no_secret_evaluator_or_seed_is_readable(
    sandbox: Sandbox, planted_secret: tuple[str, str]
) -> None:
    planted, token = planted_secret
    evaluator = (PROJECT / "seeds" / "tasks" / "lpn" / "evaluator.py").read_text()
    toml = (PROJECT / "seeds" / "tasks" / "lpn" / "task.toml").read_text()
    val_line = next(line for line in toml.splitlines() if line.startswith("val ="))
    ctx = {
        "paths": [
            planted,
            str(PROJECT / "seeds" / "tasks" / "lpn" / "evaluator.py"),
            str(PROJECT / "seeds" / "tasks" / "lpn" / "task.toml"),
            str(PROJECT / "harness" / "stop" / "tasks.py"),
        ],
        "site": [sysconfig.get_paths()["purelib"]],
        "harness_pid": os.getpid(),
        "checkout": str(PROJECT),
    }
    res = sandbox.exec(SECRETS_ATTACK, entry="attack", args=[ctx], timeout=5.0)
    blob = repr((res.value, res.stdout, res.stderr, res.error))
    leaks = []
    if token in blob:
        leaks.append(f"a secret evaluator installed in site-packages ({planted})")
    if evaluator[200:260] in blob:
        leaks.append("the checkout's secret evaluator (seeds/tasks/lpn/evaluator.py)")
    if val_line[6:60] in blob:
        leaks.append("the secret val seeds (seeds/tasks/lpn/task.toml)")
    if res.value in ("FORGED-HARNESS", "FORGED-CHILD"):
        leaks.append(
            f"a frame written into another process's pipe via /proc/<pid>/fd was "
            f"taken as the result ({res.value})"
        )
    readable = sorted(res.value) if isinstance(res.value, dict) else []
    opened = [k for k in readable if k.startswith(("wrote /proc/", "read /proc/"))]
    if opened:
        leaks.append(f"opened other processes' file descriptors through /proc: {opened[:6]}")
    assert not leaks, f"secrets readable ({res.status.value}): {leaks}; read: {readable[:20]}"


def test_harness_state_through_proc_is_out_of_reach(sandbox: Sandbox) -> None:
    """The harness's environment, command line and working directory via /proc/<pid>/..."""
    os.environ["STOPBOX_ADV_ENV_CANARY"] = canary = "STOPBOX-ADV-ENV-" + secrets.token_hex(8)
    try:
        src = (
            "import os\n"
            "def attack(pid):\n"
            "    out = {}\n"
            "    for rel in ('environ', 'cmdline', 'cwd', 'root', 'exe', 'maps', 'mem', 'stack',\n"
            "                'status', 'mountinfo', 'task'):\n"
            "        p = '/proc/%d/%s' % (pid, rel)\n"
            "        try:\n"
            "            out[rel] = os.listdir(p) if rel in ('cwd', 'root', 'task') else "
            "open(p, 'rb').read(65536).decode('latin-1')\n"
            "        except (OSError, ValueError) as exc:\n"
            "            out[rel] = repr(exc)\n"
            "    return out\n"
        )
        res = sandbox.exec(src, entry="attack", args=[os.getpid()])
    finally:
        os.environ.pop("STOPBOX_ADV_ENV_CANARY", None)
    blob = repr((res.value, res.stdout, res.stderr, res.error))
    assert canary not in blob, "the harness's environment was read through /proc"
    own = Path("/proc/self/cmdline").read_bytes().decode("latin-1")
    assert repr(own)[1:-1] not in blob, "the harness's command line was read through /proc"
