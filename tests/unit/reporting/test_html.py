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
    assert '<b id="bypass-rate">1.96% (0.54–6.87)</b>' in text
    assert '<b id="gain-val">+0.109</b>' in text


def test_html_has_every_table(page: str) -> None:
    ids = {a.get("id") for t, a in _parse(page) if t == "table"}
    expected = {"table-run", "table-utility-gain", "table-iterations", "table-bypass",
                "table-bypass-kind", "table-categories", "table-static-runtime",
                "table-static-runtime-2", "table-calibration", "table-rules", "table-lm-usage",
                "table-transfer"}  # fmt: skip
    assert expected <= ids


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
