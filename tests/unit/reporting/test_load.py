from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stopbox.harness.errors import RunDirError
from stopbox.harness.reporting import load_report


def test_loads_a_finished_run(run_dir: Path) -> None:
    report = load_report(run_dir)
    assert report["run"]["status"] == "complete"
    assert [it["iteration"] for it in report["iterations"]] == [0, 1, 2]


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run directory"):
        load_report(tmp_path / "nope")


def test_empty_directory_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not a stopbox run directory"):
        load_report(tmp_path)


def test_malformed_report_json(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(RunDirError, match="not a readable report.json"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text("[1, 2]")
    with pytest.raises(RunDirError, match="not a JSON object"):
        load_report(tmp_path)


def test_interrupted_run_without_report_json_is_rebuilt(run_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(run_dir / "programs", tmp_path / "programs")
    (tmp_path / "config.toml").write_text('task = "parity_noise"\nlm = "synthetic"\n')
    report = load_report(tmp_path)
    assert report["run"]["status"] == "interrupted"
    assert report["run"]["lm"]["synthetic"] is True
    assert len(report["programs"]) == 4
    assert json.dumps(report)  # still plain JSON data
