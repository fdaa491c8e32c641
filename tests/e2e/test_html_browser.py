"""The HTML report opened in a real headless browser (Debian's chromium): it loads without errors,
the DOM shows the plots and the tables, and a screenshot is kept as a test artifact
(``$STOPBOX_TEST_ARTIFACTS/report-screenshot.png``, else the test's tmp dir)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from stopbox.harness.reporting import render_report

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "reporting" / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0", "--window-size=1280,6000",
]  # fmt: skip

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = json.loads((FIXTURES / "report.json").read_text())
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_report(report, "html", FIXTURES), encoding="utf-8")
    return path


def test_browser_dom_shows_plots_and_tables(page: Path, tmp_path: Path) -> None:
    proc = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    for bad in ("Uncaught", "Failed to load resource", "net::ERR_"):
        assert bad not in proc.stderr, proc.stderr[-2000:]
    dom = _Dom()
    dom.feed(proc.stdout)
    assert "no language model was used" in dom.title
    plots = [a for t, a in dom.tags if t == "img" and "plot" in (a.get("class") or "")]
    assert len(plots) == 5
    assert all((a.get("src") or "").startswith("data:image/png;base64,") for a in plots)
    tables = {a.get("id") for t, a in dom.tags if t == "table"}
    assert {"table-bypass", "table-utility-gain", "table-calibration", "table-rules"} <= tables
    hits = [a for t, a in dom.tags if t == "span" and a.get("class") == "line hit"]
    assert len(hits) == 3


def test_browser_screenshot_shows_a_rendered_page(page: Path, tmp_path: Path) -> None:
    artifacts = Path(os.environ.get("STOPBOX_TEST_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "report-screenshot.png"
    shot.unlink(missing_ok=True)
    proc = _chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file(), proc.stderr[-2000:]
    pixels = np.asarray(mpimg.imread(shot))[..., :3]
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    # the plots are drawn: plenty of saturated (coloured, not grey) pixels
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 0.3).mean() > 0.005
    print(f"screenshot: {shot}")
