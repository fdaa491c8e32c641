"""Stale state of a killed harness is removed by owner pid, never another's."""

from __future__ import annotations

from pathlib import Path

from stopbox.harness.sandbox.backends.stale import remove_stale_runsc, remove_stale_worker_dirs


def test_only_the_dead_owners_directories_go(tmp_path: Path) -> None:
    dead, live = 999_991, 999_992
    for name in (f"stopbox-worker-{dead}-a", f"stopbox-worker-{live}-b", "stopbox-worker-x-c",
                 f"stopbox-runsc-{dead}-d", f"stopbox-runsc-{live}-e"):  # fmt: skip
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("x")
    (tmp_path / f"stopbox-jobs-{dead}-m").mkdir()

    def alive(pid: int) -> bool:
        return pid == live

    gone = remove_stale_worker_dirs(tmp_path, alive) + remove_stale_runsc(tmp_path, alive, "")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [f"stopbox-runsc-{live}-e", f"stopbox-worker-{live}-b", "stopbox-worker-x-c"]
    assert len(gone) == 3
