"""The cgroup layer's bookkeeping without a kernel: hierarchy detection (v2 preferred when it
offers memory+pids, else v1), the limit files written per version, names, stale removal by
owner pid only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stopbox.harness.sandbox.worker import _cgroup

V2_LINE = "30 25 0:26 / {mnt} rw,nosuid shared:4 - cgroup2 cgroup2 rw\n"
V1_LINE = "40 25 0:{n} / {mnt} rw,nosuid shared:9 - cgroup cgroup rw,{ctrl}\n"


def _fake(tmp_path: Path, v2_controllers: str, v1: bool) -> tuple[str, str]:
    unified, mem, pids = tmp_path / "unified", tmp_path / "memory", tmp_path / "pids"
    (unified / "me").mkdir(parents=True)
    (unified / "me" / "cgroup.controllers").write_text(v2_controllers + "\n")
    (unified / "me" / "cgroup.subtree_control").write_text("")
    lines = V2_LINE.format(mnt=unified)
    cgroup = "0::/me\n"
    if v1:
        for n, (d, ctrl) in enumerate(((mem, "memory"), (pids, "pids"))):
            (d / "me").mkdir(parents=True)
            lines += V1_LINE.format(n=40 + n, mnt=d, ctrl=ctrl)
            cgroup = f"{4 + n}:{ctrl}:/me\n" + cgroup
    mountinfo, proc_cgroup = tmp_path / "mountinfo", tmp_path / "cgroup"
    mountinfo.write_text(lines)
    proc_cgroup.write_text(cgroup)
    return str(mountinfo), str(proc_cgroup)


def test_v2_is_preferred_when_it_offers_memory_and_pids(tmp_path: Path) -> None:
    version, dirs, why = _cgroup.parents(*_fake(tmp_path, "cpu memory pids", v1=True))
    assert (version, dirs, why) == (2, {"unified": str(tmp_path / "unified" / "me")}, None)


def test_v1_when_v2_lacks_them(tmp_path: Path) -> None:
    version, dirs, _ = _cgroup.parents(*_fake(tmp_path, "hugetlb", v1=True))
    assert version == 1
    assert dirs == {
        "memory": str(tmp_path / "memory" / "me"),
        "pids": str(tmp_path / "pids" / "me"),
    }


def test_neither_names_why(tmp_path: Path) -> None:
    version, dirs, why = _cgroup.parents(*_fake(tmp_path, "hugetlb", v1=False))
    assert version == 0 and dirs == {}
    assert why and "hugetlb" in why and "no cgroup v1 memory" in why


def _fake_cgroupfs(monkeypatch: pytest.MonkeyPatch, files: dict[str, tuple[str, ...]]) -> None:
    """mkdir makes the interface files a cgroupfs would (by the parent's name)."""
    real_mkdir = os.mkdir

    def mkdir(path: str, mode: int = 0o777) -> None:
        real_mkdir(path, mode)
        for name in files.get(os.path.basename(os.path.dirname(path)), ()):
            Path(path, name).write_text("")  # writes replace, as in cgroupfs

    monkeypatch.setattr(os, "mkdir", mkdir)


def test_limit_files_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cgroupfs(monkeypatch, {
        "v2": ("memory.max", "memory.swap.max", "memory.oom.group", "pids.max", "cgroup.procs"),
        "m": ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cgroup.procs"),
        "p": ("pids.max", "cgroup.procs"),
    })  # fmt: skip
    limits = {"memory_mb": 256, "processes": 2}
    want_mem = str((256 + _cgroup.SLACK_MB) << 20)
    want_pids = str(2 + _cgroup.EXTRA_PIDS)
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.subtree_control").write_text("memory pids")
    mgr = _cgroup.JobCgroups(123, limits, 2, {"unified": str(v2)})
    (d,) = mgr.create(1)
    assert os.path.basename(d) == f"stopbox-123-{os.getpid()}-1-ns{_cgroup.pidns_inode()}"
    got = {n: Path(d, n).read_text() for n in os.listdir(d)}
    assert got["memory.max"] == want_mem and got["pids.max"] == want_pids
    assert got["memory.swap.max"] == "0" and got["memory.oom.group"] == "1"
    mem, pids = tmp_path / "m", tmp_path / "p"
    mem.mkdir()
    pids.mkdir()
    mgr1 = _cgroup.JobCgroups(123, limits, 1, {"memory": str(mem), "pids": str(pids)})
    mdir, pdir = mgr1.create(2)
    assert Path(mdir, "memory.limit_in_bytes").read_text() == want_mem
    assert Path(mdir, "memory.memsw.limit_in_bytes").read_text() == want_mem  # no swap
    assert Path(pdir, "pids.max").read_text() == want_pids
    mgr1.join(2, 4242)
    assert (
        Path(mdir, "cgroup.procs").read_text() == Path(pdir, "cgroup.procs").read_text() == "4242"
    )


def test_v2_enables_memory_and_pids_for_its_children_or_says_how(tmp_path: Path) -> None:
    d = tmp_path / "v2"
    d.mkdir()
    (d / "cgroup.subtree_control").write_text("")
    _cgroup.JobCgroups(1, {"memory_mb": 64, "processes": 1}, 2, {"unified": str(d)})
    assert (d / "cgroup.subtree_control").read_text() == "+memory +pids"  # what was asked


@pytest.mark.parametrize(
    "name, parsed",
    [
        ("stopbox-12-34-5-ns678", (12, 34, 5, 678)),
        ("stopbox-12-34-5", None),
        ("stopbox-x-34-5-ns1", None),
        ("other-12-34-5-ns678", None),
    ],
)
def test_names(name: str, parsed: tuple[int, int, int, int] | None) -> None:
    assert _cgroup.parse_name(name) == parsed


def test_stale_removal_by_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = _cgroup.pidns_inode()
    parent = tmp_path / "parent"
    parent.mkdir()
    dead, live, me = 999_991, 999_992, os.getpid()
    names = {
        f"stopbox-{dead}-5-1-ns{ns}": True,  # dead owner: goes
        f"stopbox-{live}-6-1-ns{ns}": False,  # live owner: stays
        f"stopbox-{dead}-7-1-ns{ns + 1}": False,  # another pid namespace: never ours to judge
        f"stopbox-{me}-999993-1-ns{ns}": True,  # this harness, its launcher dead: goes
        f"stopbox-{me}-8-1-ns{ns}": False,  # this harness, launcher alive: stays
        f"stopbox-{dead}-9-2-ns{ns}": False,  # dead owner but still holds a process: stays
        "unrelated": False,
    }
    for name in names:
        (parent / name).mkdir()
    (parent / f"stopbox-{dead}-9-2-ns{ns}" / "cgroup.procs").write_text("4242\n")
    monkeypatch.setattr(_cgroup, "parents", lambda: (1, {"memory": str(parent)}, None))

    def alive(pid: int) -> bool:
        return pid in (live, me, 8)

    gone = _cgroup.remove_stale(alive, me=me)
    # a fake directory is not a cgroup: os.rmdir of a dir with a cgroup.procs file fails, as a
    # real non-empty cgroup's does
    assert sorted(os.path.basename(g) for g in gone) == sorted(n for n, go in names.items() if go)
    assert sorted(p.name for p in parent.iterdir()) == sorted(
        n for n, go in names.items() if not go
    )
