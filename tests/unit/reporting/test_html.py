from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from stopbox.harness.reporting import render_report


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def page() -> str:
    """The fixture run rendered once (matplotlib drawing dominates the time)."""
    fixtures = Path(__file__).parent / "fixtures"
    report = json.loads((fixtures / "report.json").read_text(encoding="utf-8"))
    return render_report(report, "html", fixtures)


def _parse(text: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Collect()
    p.feed(text)
    return p.tags


def test_html_is_self_contained_with_five_png_plots(page: str) -> None:
    text = page
    tags = _parse(text)
    imgs = [a for t, a in tags if t == "img"]
    assert len(imgs) == 5
    for a in imgs:
        src = a["src"] or ""
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing is loaded from anywhere else
    assert not re.search(r"""(src|href)=["'](https?:|//)""", text)
    assert "<script" not in text and "<link" not in text


def test_html_title_and_headline(page: str) -> None:
    text = page
    assert re.search(r"<title>[^<]*no language model was used</title>", text)
    assert '<b id="bypass-rate">1.96%</b>' in text
    assert '<span class="interval" id="bypass-rate-ci">95% CI 0.54–6.87, Wilson</span>' in text
    assert '<b id="gain-val">+0.109</b>' in text
    assert ('<span class="interval" id="gain-val-ci">95% CI +0.102 to +0.115 (n=5), paired '
            "bootstrap</span>") in text  # fmt: skip


def test_headline_cards_sit_side_by_side_in_one_row(page: str) -> None:
    """Gain (val, test) and bypass, each with its interval, in one row of cards."""
    head = page[page.index('<div class="headline" id="headline">') :]
    head = head[: head.index("</div>\n</div>")]
    ids = re.findall(r'<div class="card" id="card-([\w-]+)">', head)
    assert ids == ["gain-val", "gain-test", "bypass-rate"]
    assert head.count('class="interval"') == 3


def test_table_of_contents_links_every_section(page: str) -> None:
    tags = _parse(page)
    links = [a.get("href") for t, a in tags if t == "a" and (a.get("href") or "").startswith("#")]
    heading_ids = {a.get("id") for t, a in tags if t in ("h2", "h3")}
    assert links[:3] == ["#run", "#plots", "#summary"] and "#improvers" in links
    assert all(h and h[1:] in heading_ids for h in links)


def test_no_table_has_an_empty_header_row(page: str) -> None:
    for row in re.findall(r"<thead><tr>(.*?)</tr></thead>", page):
        cells = re.findall(r"<th>(.*?)</th>", row)
        assert cells and all(c.strip() for c in cells), row


def test_every_improver_failed_replaces_the_gain(report: dict[str, Any]) -> None:
    report["utility_gain"]["every_improver_failed"] = True
    text = render_report(report, "html", None)
    assert 'id="all-failed"' in text
    assert '<b id="gain-val">every improver failed</b>' in text
    assert "+0.109" not in text.split('id="headline"')[1].split("</div>\n</div>")[0]


def test_html_has_every_table(page: str) -> None:
    ids = {a.get("id") for t, a in _parse(page) if t == "table"}
    expected = {"table-run", "table-utility-gain", "table-iterations", "table-bypass",
                "table-bypass-kind", "table-categories", "table-static-runtime",
                "table-static-runtime-2", "table-calibration", "table-rules", "table-lm-usage",
                "table-transfer"}  # fmt: skip
    assert expected <= ids


def test_long_finding_annotations_wrap(page: str) -> None:
    css = page[page.index("<style>") : page.index("</style>")]
    rule = re.search(r"pre\.code span\.finding \{([^}]*)\}", css)
    assert rule and "white-space: pre-wrap" in rule.group(1)
    assert "overflow-wrap: anywhere" in rule.group(1)


def test_improver_findings_are_marked_at_their_lines(page: str) -> None:
    text = page
    hits = re.findall(r'<span class="line hit" data-line="(\d+)">', text)
    assert sorted(int(h) for h in hits) == [1, 10, 12]
    assert 'data-rule="SBX001"' in text
    assert "Iteration 0 — <code>" in text and "Iteration 1 — <code>" in text
    assert "Generated in iteration 2, not selected — <code>" in text
    # the code is escaped, not interpreted
    assert "use_sandbox=False" in text and "<script" not in text


def test_html_escapes_hostile_program_text(report: dict[str, Any]) -> None:
    report["programs"][0]["source"] = "</pre><script>alert(1)</script>"
    text = render_report(report, "html", None)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_html_of_an_empty_interrupted_run(report: dict[str, Any]) -> None:
    text = render_report({"run": {"id": "r", "status": "interrupted"}}, "html", None)
    assert "(interrupted run)" in text
    assert 'id="interrupted"' in text
    assert "<img" not in text


def test_transferred_improver_is_shown_with_its_runtime_findings(report: dict[str, Any]) -> None:
    sha = "cd" * 32
    finding = {"rule_id": "RUN001", "category": "sandbox-bypass", "severity": "critical",
               "message": "utility() was called with use_sandbox=False",
               "source": "runtime"}  # fmt: skip
    report["programs"].append({"sha256": sha, "kind": "improver", "iteration": -1,
                               "source": "def improve_algorithm(): ...\n", "findings": [],
                               "runtime": [finding], "generated": False})  # fmt: skip
    bypass = {"any": True, "static": False, "runtime": True}
    report["transfer_improver"] = [
        {"sha256": sha, "static": [], "runtime": [finding], "bypass": bypass}
    ]
    text = render_report(report, "html", None)
    assert f"The transferred improver — <code>{sha[:12]}</code>" in text
    assert 'id="transfer-improver"' in text and "RUN001" in text
