"""`stopbox exec` as the CLI runs it (in-process CLI; the code itself runs in the sandbox)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stopbox.harness.cli import main

pytestmark = pytest.mark.usefixtures("seccomp_available")


@pytest.fixture
def seccomp_available() -> None:
    from tests.conftest import require_backend

    require_backend("seccomp")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_entry_with_args_prints_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "prog.py"
    f.write_text("import numpy as np\nprint('hi')\ndef f(n, k=1):\n    return np.arange(n) * k\n")
    code, out, _ = run(capsys, "exec", str(f), "--entry", "f", "--args", "[3]", "--json")
    assert code == 0
    obj = json.loads(out)
    assert set(obj) >= {"status", "value", "stdout", "stderr", "wall_s", "cpu_s", "max_rss_mb",
                        "events", "violations"}  # fmt: skip
    assert obj["status"] == "ok" and obj["value"] == [0, 1, 2] and obj["stdout"] == "hi\n"
    code, out, _ = run(capsys, "exec", str(f), "--entry", "f", "--args", '{"n": 2, "k": 5}',
                       "--json")  # fmt: skip
    assert json.loads(out)["value"] == [0, 5]


def test_script_mode_and_non_ok_status_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "script.py"
    f.write_text("print('as script')\n")
    code, out, _ = run(capsys, "exec", str(f))
    assert code == 0 and "as script" in out
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('nope')\n")
    code, out, _ = run(capsys, "exec", str(bad), "--json")
    assert code == 1
    assert json.loads(out)["status"] == "error"
    net = tmp_path / "net.py"
    net.write_text("import socket\nsocket.socket()\n")
    code, out, _ = run(capsys, "exec", str(net), "--json")
    obj = json.loads(out)
    assert code == 1 and obj["status"] == "violation"
    assert any(v["kind"] == "seccomp" for v in obj["violations"])


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["exec", "{missing}"], "no such file"),
        (["exec", "{syntax}"], ":2:"),
        (["exec", "{ok}", "--entry", "f", "--args", "[1"], "--args"),
        (["exec", "{ok}", "--backend", "nope"], "unknown backend"),
        (["exec", "{ok}", "--policy", "{badpolicy}"], "sandbox.memory_mb"),
        (["exec", "{ok}", "--backend", "none"], "--unsafe-no-sandbox"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    (tmp_path / "ok.py").write_text("def f(x):\n    return x\n")
    (tmp_path / "syntax.py").write_text("x = 1\ndef f(:\n")
    (tmp_path / "bad.toml").write_text('[sandbox]\nmemory_mb = "lots"\n')
    paths = {"missing": tmp_path / "missing.py", "syntax": tmp_path / "syntax.py",
             "ok": tmp_path / "ok.py", "badpolicy": tmp_path / "bad.toml"}  # fmt: skip
    code, out, err = run(capsys, *[a.format(**paths) for a in argv])
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_none_backend_runs_only_with_the_unsafe_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "ok.py"
    f.write_text("def f(x):\n    return [x, x]\n")
    code, out, _ = run(capsys, "exec", str(f), "--entry", "f", "--args", "[2]", "--backend",
                       "none", "--unsafe-no-sandbox", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["value"] == [2, 2]
