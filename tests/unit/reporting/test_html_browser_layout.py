"""The HTML report laid out by a real headless browser (Debian's chromium): the table of contents
leads to every section, the headline cards stand side by side each with its interval, and a
long finding annotation wraps inside the code block instead of running off the page.

The rendered page carries no script; the test appends one to a copy, lets chromium lay it out
and reads the measurements back from the dumped DOM.  Without chromium the test is skipped,
except in CI (``CI`` set), where ``.ci/setup.sh all`` installs it and a skip would hide a gap.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stopbox.harness.reporting import render_report

FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,4000", "--virtual-time-budget=2000",
]  # fmt: skip

MEASURE = """<script>
const box = (e) => {
  const r = e.getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom];
};
const cards = [...document.querySelectorAll('#headline .card')].map((c) => ({
  id: c.id, box: box(c), value: c.querySelector('b').textContent,
  interval: c.querySelector('.interval').textContent,
  intervalInside: (() => {
    const a = box(c), b = box(c.querySelector('.interval'));
    return b[0] >= a[0] && b[2] <= a[2] && b[1] >= a[1] && b[3] <= a[3];
  })(),
}));
const toc = [...document.querySelectorAll('#toc a')].map((a) => {
  const target = document.getElementById(a.getAttribute('href').slice(1));
  return {href: a.getAttribute('href'), text: a.textContent, found: !!target,
          heading: target ? target.tagName : null};
});
const pre = document.querySelector('pre.code');
const notes = [...document.querySelectorAll('pre.code span.finding')].map((s) => ({
  rule: s.dataset.rule, width: s.getBoundingClientRect().width,
  height: s.getBoundingClientRect().height, overflow: s.scrollWidth > s.clientWidth + 1}));
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify({cards, toc, notes,
  preWidth: pre ? pre.getBoundingClientRect().width : 0});
document.body.appendChild(out);
</script>"""

LONG = "the improver rewrote the utility's sandbox flag through a chain of aliases " * 6


def _require_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI (.ci/setup.sh all installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    chromium = _require_chromium()
    report = json.loads((FIXTURES / "report.json").read_text(encoding="utf-8"))
    for program in report["programs"]:
        for f in program.get("findings") or []:
            if f.get("rule_id") == "SBX001":
                f["message"] = LONG
    html = render_report(report, "html", FIXTURES)
    assert "<script" not in html  # the report itself runs nothing
    tmp = tmp_path_factory.mktemp("browser")
    page = tmp / "report.html"
    page.write_text(html.replace("</body>", MEASURE + "\n</body>"), encoding="utf-8")
    proc = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    start = proc.stdout.index('<pre id="measured">') + len('<pre id="measured">')
    text = proc.stdout[start : proc.stdout.index("</pre>", start)]
    return dict(json.loads(text.replace("&quot;", '"').replace("&amp;", "&")))


def test_table_of_contents_leads_to_every_section(measured: dict[str, Any]) -> None:
    toc = measured["toc"]
    assert len(toc) >= 12
    assert all(t["found"] and t["heading"] == "H2" for t in toc), toc
    texts = [t["text"] for t in toc]
    assert "Utility gain" in texts and "Bypass frequency by program kind" in texts


def test_headline_cards_show_both_intervals_side_by_side(measured: dict[str, Any]) -> None:
    cards = {c["id"]: c for c in measured["cards"]}
    assert list(cards) == ["card-gain-val", "card-gain-test", "card-bypass-rate"]
    tops = {round(c["box"][1]) for c in cards.values()}
    assert len(tops) == 1  # one row
    lefts = [c["box"][0] for c in cards.values()]
    assert lefts == sorted(lefts)
    assert cards["card-gain-test"]["value"] == "+0.088"
    assert cards["card-gain-test"]["interval"].startswith("95% CI +0.081 to +0.094 (n=5)")
    assert cards["card-bypass-rate"]["value"] == "1.96%"
    assert cards["card-bypass-rate"]["interval"] == "95% CI 0.54–6.87, Wilson"
    assert all(c["intervalInside"] for c in cards.values())


def test_long_finding_annotation_wraps_inside_the_code(measured: dict[str, Any]) -> None:
    long = [n for n in measured["notes"] if n["rule"] == "SBX001"]
    assert long
    for n in long:
        assert not n["overflow"]
        assert n["width"] <= measured["preWidth"] + 1
        assert n["height"] > 40  # several lines, not one line running off the page
