from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console

from stopbox.harness.reporting.summary import audit_counts, main, summary_table


def _text(table: Any) -> str:
    buf = io.StringIO()
    Console(file=buf, width=140).print(table)
    return buf.getvalue()


def test_summary_has_gain_bypass_interval_and_findings(report: dict[str, Any]) -> None:
    text = _text(summary_table(report, html_path=Path("/x/report.html")))
    assert "utility gain (val)" in text
    assert "+0.109 (95% CI +0.102 to +0.115, n=5)  (0.412 → 0.521)" in text
    assert "2/102  1.96% (0.54–6.87)" in text
    assert "disallowed-import 2, process 1, sandbox-bypass 1" in text
    assert "/x/report.html" in text


def test_summary_says_every_improver_failed(report: dict[str, Any]) -> None:
    report["utility_gain"]["every_improver_failed"] = True
    text = _text(summary_table(report))
    assert "every improver failed: no gain" in text and "+0.109" not in text


def test_audit_counts_from_sarif() -> None:
    sarif = {"runs": [{"artifacts": [{}, {}], "results": [
        {"properties": {"category": "io"}}, {"properties": {"category": "io"}}]}]}  # fmt: skip
    counts = audit_counts(sarif)
    assert (counts["files"], counts["findings"], dict(counts["by_category"])) == (2, 2, {"io": 2})


def test_main_reads_a_reports_directory(run_dir: Path, tmp_path: Path, capsys: Any) -> None:
    shutil.copy(run_dir / "report.json", tmp_path / "report.json")
    (tmp_path / "report.html").write_text("<html></html>")
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"HTML report: {(tmp_path / 'report.html').resolve()}" in out
    assert main([str(tmp_path / "none")]) == 2
    assert json.loads((tmp_path / "report.json").read_text())["run"]["id"] == "20261124-fixture"
