"""gvisor backend specifics: the OCI spec, the root filesystem plan, layers and clean-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stopbox.harness.policy import default_policy
from stopbox.harness.sandbox.backends.gvisor import (
    STATE_PREFIX,
    WORKER_MOUNT,
    GvisorSandbox,
    oci_config,
)
from stopbox.harness.sandbox.backends.image.rootfs import SCRATCH, plan_rootfs


def test_oci_config_has_a_read_only_root_no_network_and_only_the_worker_mounted() -> None:
    spec = oci_config(Path("/r"), Path("/w"), ["py", "-I", "x"], default_policy(), tmp_mb=64)
    assert spec["root"] == {"path": "/r", "readonly": True}
    assert {"type": "network"} in spec["linux"]["namespaces"]
    binds = [m for m in spec["mounts"] if m["type"] == "bind"]
    assert binds == [
        {"destination": WORKER_MOUNT, "type": "bind", "source": "/w", "options": ["rbind", "ro"]}
    ]
    assert spec["process"]["noNewPrivileges"] is True
    assert spec["process"]["args"] == ["py", "-I", "x"]
    env = dict(e.split("=", 1) for e in spec["process"]["env"])
    assert set(env) == {"PATH", "LANG", "HOME", "TMPDIR"}  # nothing of the harness's environment
    tmp = next(m for m in spec["mounts"] if m["destination"] == SCRATCH)
    assert "size=64m" in tmp["options"]
    assert env["TMPDIR"] == env["HOME"] == spec["process"]["cwd"] == SCRATCH


def test_no_mount_hides_the_interpreter_or_a_checkout_under_tmp() -> None:
    # the interpreter and venv sit at their host paths inside; CI clones can live under /tmp
    spec = oci_config(Path("/r"), Path("/w"), ["py"], default_policy(), tmp_mb=64)
    for mount in spec["mounts"]:
        dest = mount["destination"].rstrip("/") + "/"
        for inside in (sys.executable, "/tmp/ci-clone/.venv/bin/python"):
            assert not inside.startswith(dest), (mount, inside)


def test_rootfs_plan_holds_the_interpreter_and_allowed_packages_only() -> None:
    plan = plan_rootfs()
    paths = set(plan.paths)
    assert sys.executable in paths
    assert any(p.endswith("/numpy/__init__.py") for p in paths)
    assert any(p.endswith("/pyseccomp.py") for p in paths)
    assert any("libseccomp.so" in p for p in paths)
    harness_dir = str(Path(__file__).resolve().parents[3] / "harness")
    assert not any(p.startswith(harness_dir) for p in paths)
    for unwanted in ("/openai/", "/libcst/", "/site-packages/structlog/", "/test/test_"):
        assert not any(unwanted in p for p in paths), unwanted
    assert plan_rootfs(fresh=True).digest == plan.digest  # stable while inputs do not change


def test_unavailable_reason_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPBOX_RUNSC", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = GvisorSandbox.unavailable_reason()
    assert reason is not None and "apt-get install runsc" in reason


def test_worker_sees_only_the_rootfs_reports_layers_and_leaves_nothing(tmp_path: Path) -> None:
    from tests.conftest import make_test_policy, require_backend

    require_backend("gvisor")
    canary = tmp_path / "canary.txt"
    canary.write_text("secret-canary-1234")
    source = (
        "import os\n"
        "def look(p):\n"
        "    return [sorted(os.listdir('/')), os.path.exists(p), os.path.exists('/home'),\n"
        "            os.path.exists('/etc/shadow')]\n"
    )
    sb = GvisorSandbox(make_test_policy(pool_size=1))
    sb.start()
    try:
        res = sb.exec(source, entry="look", args=(str(canary),))
        assert res.ok, res.error
        root, canary_seen, home_seen, shadow_seen = res.value
        assert (canary_seen, home_seen, shadow_seen) == (False, False, False)
        assert "opt" in root and "home" not in root
        layers = next(e for e in res.events if e.get("event") == "layers")
        assert layers["seccomp"] is True
        assert layers["landlock"] is False  # gVisor does not implement Landlock
        state = sb._state
        assert state is not None and state.name.startswith(STATE_PREFIX)
        pids = sb.worker_pids()
        assert pids
    finally:
        sb.close()
    assert not state.exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(state) not in listing


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_config_json_written_per_worker_is_valid(tmp_path: Path) -> None:
    spec = oci_config(tmp_path, tmp_path, ["a"], default_policy(), tmp_mb=80)
    text = json.dumps(spec)
    assert json.loads(text)["ociVersion"] == "1.0.0"
    assert os.fspath(tmp_path) in text


def test_build_rootfs_mirrors_files_symlinked_parents_and_links(tmp_path: Path) -> None:
    from stopbox.harness.sandbox.backends.image.rootfs import RootfsPlan, build_rootfs

    host = tmp_path / "host"
    (host / "real" / "lib").mkdir(parents=True)
    (host / "real" / "lib" / "libx.so.1").write_text("elf")
    (host / "alias").symlink_to("real")  # like /lib -> usr/lib on merged-/usr systems
    (host / "real" / "lib" / "libx.so").symlink_to("libx.so.1")
    plan = RootfsPlan(
        python="/usr/bin/python3",
        paths=(str(host / "alias" / "lib" / "libx.so.1"), str(host / "real" / "lib" / "libx.so")),
        links=(("usr/bin/python3", "/opt/py/bin/python3"),),
        files=(("etc/passwd", "root:x:0:0::/:/sbin/nologin\n"),),
        digest="0123456789abcdef",
    )
    dest = tmp_path / "rootfs"
    build_rootfs(dest, plan)
    inside = dest / host.relative_to("/")
    assert (inside / "alias").is_symlink() and os.readlink(inside / "alias") == "real"
    assert (inside / "real" / "lib" / "libx.so.1").read_text() == "elf"
    assert os.readlink(inside / "real" / "lib" / "libx.so") == "libx.so.1"
    assert os.readlink(dest / "usr/bin/python3") == "/opt/py/bin/python3"
    assert (dest / "etc/passwd").read_text().startswith("root:")
    assert (dest / "tmp").stat().st_mode & 0o1777 == 0o1777
    assert (dest / ".stopbox-rootfs").read_text().strip() == "0123456789abcdef"


def test_prune_keeps_the_most_recently_used_root_filesystems(tmp_path: Path) -> None:
    from stopbox.harness.sandbox.backends.image.rootfs import KEEP_ROOTFS, _prune

    dirs = []
    for i in range(KEEP_ROOTFS + 2):
        d = tmp_path / f"hash{i}"
        d.mkdir()
        (d / ".stopbox-rootfs").write_text(d.name)
        os.utime(d / ".stopbox-rootfs", (1000 + i, 1000 + i))
        dirs.append(d)
    keep = dirs[0]  # just built, even though its marker is the oldest
    _prune(tmp_path, keep=keep)
    left = sorted(d.name for d in tmp_path.iterdir())
    newest = [d.name for d in dirs[::-1][: KEEP_ROOTFS - 1]]
    assert left == sorted([keep.name, *newest])
