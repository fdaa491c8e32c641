"""The wheel works anywhere (issue 12): build it from a copy of the checkout, delete the copy,
install the wheel into a fresh venv in an empty temporary directory, and run every command there.

How: ``python -m build --no-isolation`` (the sdist, then the wheel from the sdist, so both are
complete; build and setuptools come with the dev extras, so no download) in a copy of the
tracked and untracked-but-not-ignored files; a new venv without
pip gets the wheel with ``pip --python VENV install --no-deps``; its dependencies come from this
project's venv through a ``.pth`` line (a fresh full install of numpy, matplotlib, openai ... took
too long for the suite).  A ``.pth`` entry adds that site-packages to ``sys.path`` but does not run
its ``.pth`` files, so the editable install of the checkout is NOT active there: ``stopbox`` can
only come from the wheel.  Every command runs with the temporary directory as working directory
and a scrubbed environment; an audit hook (``sitecustomize`` of the fresh venv, active in the
``stopbox`` process only) records every file the harness opens, and the test asserts that none
lies in the checkout outside its venv's third-party packages, and none in the deleted copy.

Needs the seccomp backend; when it cannot start the test fails if STOPBOX_REQUIRE_BACKENDS names
seccomp and is skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
BAD = "def improve(utility, x):\n    return utility(x, use_sandbox=False)\n"
GOOD = "import math\n\n\ndef f():\n    return math.sqrt(16)\n"

SITECUSTOMIZE = """\
import os, sys
_log = os.environ.get("STOPBOX_TEST_OPEN_LOG")
if _log and os.path.basename(sys.argv[0] if sys.argv else "") == "stopbox":
    _seen = set()

    def _hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            _seen.add(os.fsdecode(args[0]))

    def _dump():
        paths = sorted(_seen)
        with open(_log, "a", encoding="utf-8") as out:
            out.write("\\n".join(paths) + "\\n")

    import atexit
    atexit.register(_dump)
    sys.addaudithook(_hook)
"""


def _copy_checkout(dest: Path) -> None:
    """The files a fresh clone would have (plus untracked, not ignored ones): what gets built."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, timeout=60,
    )  # fmt: skip
    if listed.returncode != 0 or shutil.which("git") is None:
        ignore = shutil.ignore_patterns(".git", ".venv", "build", "runs", "*.egg-info", ".*cache*")
        shutil.copytree(ROOT, dest, ignore=ignore)
        return
    for name in listed.stdout.decode().split("\0"):
        if not name or not (ROOT / name).is_file():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def _build_wheel(tmp: Path) -> Path:
    copy, dist = tmp / "copy", tmp / "dist"
    _copy_checkout(copy)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), "."],
        cwd=copy, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    shutil.rmtree(copy)
    (wheel,) = dist.glob("stopbox-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "stopbox-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return venv


def _seccomp_unavailable(stopbox: Path, env: dict[str, str], cwd: Path) -> str | None:
    proc = subprocess.run(
        [str(stopbox), "selfcheck", "--help"], env=env, cwd=cwd, capture_output=True, timeout=60
    )
    if proc.returncode != 0:
        return None  # not a backend problem: let the test report it
    from stopbox.harness.sandbox import available_backends

    return available_backends().get("seccomp")


def test_the_wheel_runs_every_command_outside_the_checkout(tmp_path: Path) -> None:
    start = time.monotonic()
    wheel = _build_wheel(tmp_path)
    assert not (tmp_path / "copy").exists()
    venv = _fresh_venv(tmp_path, wheel)
    print(f"wheel: {time.monotonic() - start:6.1f}s  copy, build, delete the copy, fresh venv")
    stopbox = venv / "bin" / "stopbox"
    work = tmp_path / "work"
    work.mkdir()
    (work / "good.py").write_text(GOOD)
    (work / "bad.py").write_text(BAD)
    opens = tmp_path / "opens.log"
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "STOPBOX_REQUIRE_BACKENDS")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        STOPBOX_CACHE=str(tmp_path / "cache"),
        STOPBOX_TEST_OPEN_LOG=str(opens),
        COLUMNS="200",
    )
    reason = _seccomp_unavailable(stopbox, env, work)
    if reason is not None:
        if "seccomp" in os.environ.get("STOPBOX_REQUIRE_BACKENDS", "").split(","):
            pytest.fail(f"seccomp backend required but unavailable: {reason}")
        pytest.skip(f"seccomp backend unavailable: {reason}")

    def sb(*args: str, stdin: str | None = None, timeout: float = 180) -> tuple[int, str, str]:
        start = time.monotonic()
        proc = subprocess.run(
            [str(stopbox), *args], cwd=work, env=env, input=stdin, capture_output=True,
            text=True, timeout=timeout,
        )  # fmt: skip
        print(f"wheel: {time.monotonic() - start:6.1f}s  stopbox {' '.join(args)}")
        return proc.returncode, proc.stdout, proc.stderr

    from stopbox.harness import __version__

    code, out, _ = sb("--version")
    assert (code, out) == (0, f"stopbox {__version__}\n")
    where = subprocess.check_output(
        [str(venv / "bin" / "python"), "-c",
         "import stopbox.harness; print(stopbox.harness.__file__)"],
        env=env, cwd=work, text=True,
    ).strip()  # fmt: skip
    assert where.startswith(str(venv)), where

    code, out, err = sb("rules", "--format", "json")
    assert code == 0, err
    assert "SBX001" in {r["id"] for r in json.loads(out)}

    code, out, err = sb("audit", ".", "--isolated", "--policy", "strict")
    assert code == 1, err
    assert "bad.py" in out and "SBX001" in out
    code, out, err = sb("audit", "good.py", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["summary"]["files"] == 1
    code, out, err = sb("audit", ".", "--format", "sarif", "--isolated", "--policy", "default")
    assert code == 1, err
    sarif = json.loads(out)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    assert sarif["runs"][0]["tool"]["driver"]["version"] == __version__
    code, out, err = sb("audit", "-", "--format", "json", stdin=BAD)
    assert code == 1, err
    assert json.loads(out)["files"][0]["path"] == "<stdin>"

    code, out, err = sb("exec", "good.py", "--entry", "f", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["status"], result["value"]) == ("ok", 4.0)

    code, out, err = sb("selfcheck", "--backend", "seccomp", timeout=300)
    assert code == 0, out[-3000:] + err[-3000:]
    assert "contained" in out

    code, out, err = sb("study", "bypass", "--samples", "20", "--out", "study", timeout=300)
    assert code == 0, err[-3000:]
    study = json.loads((work / "study" / "study.json").read_text())
    assert study["config"]["samples"] == 20 and study["complete"] is True

    code, out, err = sb(
        "run", "--iterations", "1", "--policy", "quick", "--out", "run", timeout=300
    )
    assert code == 0, err[-3000:]
    report = json.loads((work / "run" / "report.json").read_text())
    assert len(report["iterations"]) >= 1 and "utility_gain" in report
    code, out, err = sb("report", "run", "--format", "md")
    assert code == 0, err
    assert (work / "run" / "report.md").stat().st_size > 0

    code, out, err = sb("policy", "schema")
    assert code == 0 and json.loads(out)["title"] == "stopbox policy"

    # Nothing the harness opened lies in the checkout (but its venv's third-party packages).
    deps = Path(sysconfig.get_paths()["purelib"]).resolve()
    opened = [Path(p) for p in opens.read_text().split("\n") if p.startswith("/")]
    assert opened, "the audit hook recorded nothing: the check would be vacuous"
    assert any(str(p).startswith(str(venv)) and "stopbox" in p.parts for p in opened)

    def from_checkout(path: Path) -> bool:
        real = path.resolve()
        if not real.is_relative_to(ROOT):
            return False
        if real.is_relative_to(deps):  # a dependency, unless it is the editable install
            return real.relative_to(deps).parts[0].startswith(("stopbox", "__editable__"))
        return True

    from_checkout = [p for p in opened if from_checkout(p)]
    assert from_checkout == []
    assert not [p for p in opened if p.is_relative_to(tmp_path / "copy")]
