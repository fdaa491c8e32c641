"""`--executor local|ray` and `--ray-address` of `stopbox run` and `stopbox transfer`: choices in
the help, bad combinations are exit 2 before any work, `local` needs no Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stopbox.harness.cli import _register, app
from stopbox.harness.commands._executor_options import ExecutorName, open_executor
from stopbox.harness.errors import UsageError

_register()
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["run", "transfer"])
def test_help_lists_the_executors(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "<local|ray>" in result.output and "--ray-address" in result.output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--ray-address", "127.0.0.1:1"], "--ray-address needs --executor ray"),
        (["run", "--executor", "local", "--ray-address", "h:1"], "--ray-address needs"),
        (["run", "--executor", "ray", "--record", "c.jsonl"], "--record needs --executor local"),
        (["transfer", "--improver", "seeds/improver.py", "--ray-address", "h:1"],
         "--ray-address needs --executor ray"),
        (["run", "--executor", "dask"], "dask"),
    ],
)  # fmt: skip
def test_bad_executor_flags_are_exit_2_before_any_work(
    argv: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "stopbox.harness.cli", *argv, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert not out.exists()  # nothing was started


def test_local_is_no_executor_and_imports_no_ray() -> None:
    code = (
        "import sys\n"
        "from stopbox.harness.commands._executor_options import open_executor\n"
        "ex = open_executor('local', None, jobs=4, max_concurrency=None, record=None,"
        " status_file=None)\n"
        "assert ex is None, ex\n"
        "assert 'ray' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_open_executor_checks_combinations() -> None:
    with pytest.raises(UsageError, match="--record needs"):
        open_executor(ExecutorName.ray, None, jobs=1, max_concurrency=None,
                      record=Path("c.jsonl"), status_file=None)  # fmt: skip
    with pytest.raises(UsageError, match="--ray-address needs"):
        open_executor(ExecutorName.local, "h:1", jobs=1, max_concurrency=None, record=None,
                      status_file=None)  # fmt: skip
