"""Assemble the sandbox root filesystem from the interpreter that runs the harness.

The gVisor and docker backends run the same worker as the seccomp backend, inside a root
filesystem that holds only what the worker needs: the interpreter (at its host path, so the
worker command is the same everywhere), the standard library (without tests, tkinter, idle,
site-packages), the allowed packages (numpy, pyseccomp) in a copy of the virtual environment,
the shared libraries they link (libc, libseccomp, ...), ``ldconfig`` and its cache (``ctypes``
finds libseccomp through it), and empty mount points.  Nothing of the harness, no secrets, no
home directory beyond the interpreter itself.

The inputs are hashed (paths, sizes, modification times and a layout version), so a root
filesystem is rebuilt only when the interpreter or the packages change::

    python -m stopbox.harness.sandbox.backends.image.rootfs --hash       # print the content hash
    python -m stopbox.harness.sandbox.backends.image.rootfs --out DIR    # build into DIR
    python -m stopbox.harness.sandbox.backends.image.rootfs --tar FILE   # for `docker import`
"""

from __future__ import annotations

import argparse
import ctypes.util
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RootfsPlan", "plan_rootfs", "build_rootfs", "ensure_rootfs", "rootfs_cache_dir"]

LAYOUT_VERSION = "2"
SCRATCH = "/.stopbox-scratch"
"""The worker's private tmpfs (cwd, HOME, TMPDIR) inside gVisor and docker.  Not ``/tmp``: the
interpreter and venv sit at their host paths, and a checkout under /tmp would be hidden."""
PACKAGES = ("numpy", "numpy.libs", "pyseccomp.py")
"""Entries of the venv's site-packages copied into the root filesystem."""
STDLIB_SKIP = {
    "site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip",
    "lib2to3", "pydoc_data", "unittest/test", "distutils/tests", "ctypes/test", "sqlite3/test",
}  # fmt: skip
STDLIB_SKIP_PREFIX = ("config-",)
MOUNT_POINTS = ("proc", "dev", "sys", "tmp", "opt/stopbox/worker", SCRATCH.lstrip("/"))
ETC_FILES = {
    "etc/passwd": (
        "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"
    ),
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
}


@dataclass(frozen=True, slots=True)
class RootfsPlan:
    """What goes into the root filesystem: host paths (files and symlinks) and extra links."""

    python: str
    """The worker's interpreter (the venv's python), at the same path inside as outside."""
    paths: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    """(path inside, target) symlinks that do not exist on the host, e.g. /usr/bin/python3."""
    files: tuple[tuple[str, str], ...]
    """(path inside, text) files written into the root filesystem."""
    digest: str


def _walk(top: Path, skip: Iterable[str] = (), skip_prefix: tuple[str, ...] = ()) -> Iterator[Path]:
    skipped = set(skip)
    for dirpath, dirnames, filenames in os.walk(top):
        rel = os.path.relpath(dirpath, top)
        keep = []
        for d in dirnames:
            sub = d if rel == "." else f"{rel}/{d}"
            if (
                sub in skipped
                or d.startswith(skip_prefix)
                or os.path.islink(os.path.join(dirpath, d))
            ):
                if os.path.islink(os.path.join(dirpath, d)) and sub not in skipped:
                    yield Path(dirpath, d)
                continue
            keep.append(d)
        dirnames[:] = sorted(keep)
        for f in sorted(filenames):
            yield Path(dirpath, f)


_LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def _shared_libraries(objects: Iterable[Path]) -> set[str]:
    """Every shared library (host path) the ELF objects link, via ldd."""
    libs: set[str] = set()
    objs = [str(p) for p in objects]
    for start in range(0, len(objs), 200):
        chunk = objs[start : start + 200]
        out = subprocess.run(
            ["ldd", *chunk], capture_output=True, text=True, check=False, env={"LC_ALL": "C"}
        ).stdout
        for line in out.splitlines():
            m = _LDD_LINE.search(line)
            if m:
                libs.add(m.group(1))
    return libs


def _library_file(name: str) -> str | None:
    """Host path of a library found the way ctypes finds it (``ldconfig -p``)."""
    soname = ctypes.util.find_library(name)
    if soname is None:
        return None
    out = subprocess.run(
        ["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=False
    ).stdout
    for line in out.splitlines():
        if line.strip().startswith(soname + " "):
            path = line.rsplit("=>", 1)[-1].strip()
            if path.startswith("/") and Path(path).exists():
                return path
    return None


def plan_rootfs(*, fresh: bool = False) -> RootfsPlan:
    """List the host files of the root filesystem for the harness's own interpreter.

    Planning stats a few thousand files and runs ldd (under a second); the plan is kept for the
    life of the process unless ``fresh`` is asked for.
    """
    global _PLAN
    if _PLAN is None or fresh:
        _PLAN = _plan_rootfs()
    return _PLAN


_PLAN: RootfsPlan | None = None


def _plan_rootfs() -> RootfsPlan:
    venv = Path(sys.prefix)
    base_exe = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    paths: list[Path] = []
    paths += list(_walk(stdlib, STDLIB_SKIP, STDLIB_SKIP_PREFIX))
    dynload = [Path(p) for p in sys.path if p.endswith("lib-dynload")]
    for d in dynload:
        if not d.is_relative_to(stdlib):
            paths += list(_walk(d))
    exe_names = {Path(sys.executable), base_exe}
    for name in ("python", "python3", f"python3.{sys.version_info.minor}"):
        for d in (venv / "bin", base_exe.parent):
            if (d / name).exists():
                exe_names.add(d / name)
    paths += sorted(exe_names)
    if (venv / "pyvenv.cfg").exists():
        paths.append(venv / "pyvenv.cfg")
    for entry in PACKAGES:
        p = site / entry
        if p.is_dir():
            paths += list(_walk(p, ("tests",)))
        elif p.exists():
            paths.append(p)
    elf = [p for p in paths if p.suffix == ".so" or ".so." in p.name]
    libs = _shared_libraries([base_exe, *elf])
    seccomp = _library_file("seccomp")
    if seccomp:
        libs.add(seccomp)
        libs |= _shared_libraries([Path(seccomp)])
    for lib in sorted(libs):
        paths.append(Path(lib))
        real = Path(os.path.realpath(lib))
        if real != Path(lib):
            paths.append(real)
    paths += [Path("/sbin/ldconfig"), Path("/etc/ld.so.cache")]
    paths = [p for p in dict.fromkeys(paths) if os.path.lexists(p)]
    links = (("usr/bin/python3", str(base_exe)), ("usr/local/bin/python3", str(base_exe)))
    files = dict(ETC_FILES)
    base_site = _base_site_packages(base_exe)
    if base_site and Path(sys.prefix) != Path(sys.base_prefix):
        # plain `python3` in the image finds the allowed packages of the venv too
        files[base_site.lstrip("/") + "/stopbox-venv.pth"] = f"{site}\n"
    digest = hashlib.sha256()
    digest.update(f"layout {LAYOUT_VERSION}\n".encode())
    for p in paths:
        st = os.lstat(p)
        digest.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}\n".encode())
    for inside, target in links:
        digest.update(f"link {inside} {target}\n".encode())
    for inside, text in sorted(files.items()):
        digest.update(f"file {inside} {text}\n".encode())
    return RootfsPlan(
        sys.executable,
        tuple(str(p) for p in paths),
        links,
        tuple(sorted(files.items())),
        digest.hexdigest()[:16],
    )


def _base_site_packages(base_exe: Path) -> str | None:
    """The first site-packages directory of the base interpreter (outside the venv)."""
    proc = subprocess.run(
        [str(base_exe), "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out.startswith("/") else None


def _mirror_parents(root: Path, host_path: str) -> Path:
    """Create the parents of ``host_path`` inside ``root``, mirroring host symlinks
    (``/lib -> usr/lib`` on merged-/usr systems); returns the path inside ``root``."""
    parts = Path(host_path).parts[1:]
    host = Path("/")
    for part in parts[:-1]:
        host = host / part
        inside = root / host.relative_to("/")
        if os.path.islink(host):
            if not os.path.lexists(inside):
                inside.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.readlink(host), inside)
            target = Path(os.path.realpath(host))
            _mirror_parents(root, str(target / "x"))
        elif not os.path.lexists(inside):
            inside.mkdir(parents=True, exist_ok=True)
    return root / Path(host_path).relative_to("/")


def build_rootfs(dest: Path, plan: RootfsPlan | None = None) -> Path:
    """Copy the planned files into ``dest`` (created; must not exist)."""
    plan = plan or plan_rootfs()
    dest.mkdir(parents=True)
    for host in plan.paths:
        inside = _mirror_parents(dest, host)
        if os.path.lexists(inside):
            continue
        if os.path.islink(host):
            os.symlink(os.readlink(host), inside)
        else:
            shutil.copy2(host, inside)
    for rel, target in plan.links:
        link = dest / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(target, link)
    for rel in MOUNT_POINTS:
        (dest / rel).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    for rel, text in plan.files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    (dest / ".stopbox-rootfs").write_text(plan.digest + "\n")
    return dest


def rootfs_cache_dir() -> Path:
    """Where built root filesystems are kept (``$STOPBOX_CACHE`` or ``~/.cache/stopbox``)."""
    base = os.environ.get("STOPBOX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "stopbox"
    )
    return Path(base) / "rootfs"


KEEP_ROOTFS = 3
"""Root filesystems kept in the cache (most recently used first): several checkouts or venvs on
one machine each keep theirs, and one in use by a running sandbox is not pulled away."""


def ensure_rootfs(cache: Path | None = None) -> Path:
    """The root filesystem for the current interpreter, built once per content hash."""
    cache = cache or rootfs_cache_dir()
    plan = plan_rootfs()
    final = cache / plan.digest
    marker = final / ".stopbox-rootfs"
    if marker.exists():
        os.utime(marker)
        return final
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return final
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
        tmp.rmdir()
        try:
            build_rootfs(tmp, plan)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        _prune(cache, keep=final)
    return final


def _prune(cache: Path, keep: Path) -> None:
    def last_used(d: Path) -> float:
        try:
            return (d / ".stopbox-rootfs").stat().st_mtime
        except OSError:
            return 0.0

    others = [d for d in cache.iterdir() if d.is_dir() and d != keep and not d.name.startswith(".")]
    others.sort(key=last_used, reverse=True)
    for old in others[KEEP_ROOTFS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def _tar(rootfs: Path, out: Path) -> None:
    with tarfile.open(out, "w") as tar:
        for entry in sorted(rootfs.iterdir()):
            tar.add(entry, arcname=entry.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hash", action="store_true", help="print the content hash and exit")
    parser.add_argument("--out", type=Path, help="build into this (new) directory")
    parser.add_argument("--tar", type=Path, help="build a tarball (for `docker import`)")
    parser.add_argument("--python", action="store_true", help="print the worker interpreter")
    args = parser.parse_args(argv)
    plan = plan_rootfs(fresh=True)
    if args.hash:
        print(plan.digest)
        return 0
    if args.python:
        print(plan.python)
        return 0
    if args.out:
        build_rootfs(args.out, plan)
        print(f"rootfs {plan.digest}: {len(plan.paths)} files in {args.out}")
    if args.tar:
        rootfs = ensure_rootfs()
        _tar(rootfs, args.tar)
        print(f"rootfs {plan.digest}: {args.tar}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
