"""Property tests (hypothesis): renaming local variables, reformatting and adding comments do
not change which rules fire; adding blank lines and comment lines does not change fingerprints
(so a moved line stays accepted by a baseline)."""

from __future__ import annotations

import ast
import builtins
import keyword
from pathlib import Path

import libcst as cst
from detector_corpus import BENIGN, example_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stopbox import detectors

CORPUS = [p for p in example_files() if "_invalid_" in p.name and "EVA002" not in p.name]
CORPUS += sorted(BENIGN.glob("*.py"))
KEEP = {
    "utility", "language_model", "initial_solution", "run", "use_sandbox", "extract_code",
    "improve_algorithm", "solution", "algorithm", "candidate", "program", "algorithm_str",
    "new_solution", "self", "cls", "__builtins__", "budget", "sandbox",
}  # fmt: skip
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=30).filter(
    lambda s: not any(w in s for w in ("noqa", "nosec", "stopbox", "type", "pragma", "pylint"))
)
IDENT = st.from_regex(r"[a-z][a-z0-9_]{2,12}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s) and not hasattr(builtins, s) and s not in KEEP
)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rules(source: str) -> set[str]:
    return {f.rule_id for f in detectors.scan(source)}


def _local_names(source: str) -> list[str]:
    """Names bound by plain assignment, loops or parameters (never imports or protected names)."""
    tree = ast.parse(source)
    imported = {
        (a.asname or a.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
    return sorted(n for n in found - imported - KEEP if not n.startswith("__"))


class _Rename(cst.CSTTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        new = self.mapping.get(updated.value)
        return updated.with_changes(value=new) if new else updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        return updated.with_changes(attr=original.attr)  # attributes keep their names

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)  # keyword names are not locals


def _top_level_lines(source: str) -> list[int]:
    tree = ast.parse(source)
    return [
        min([n.lineno, *(d.lineno for d in getattr(n, "decorator_list", []))]) for n in tree.body
    ]


def _insert_comments(source: str, comments: list[str], blank: int) -> str:
    lines = source.splitlines()
    starts = set(_top_level_lines(source))
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        if number in starts:
            out.extend([""] * blank)
            if comments:
                out.append(f"# {comments[number % len(comments)]}")
        out.append(line)
    return "\n".join(out) + "\n"


@SETTINGS
@given(path=st.sampled_from(CORPUS), data=st.data())
def test_renaming_locals_keeps_the_rules(path: Path, data: st.DataObject) -> None:
    source = path.read_text(encoding="utf-8")
    names = _local_names(source)
    new_names = data.draw(st.lists(IDENT, min_size=len(names), max_size=len(names), unique=True))
    taken = set(names) | set(ast.dump(ast.parse(source)).split("'"))
    mapping = {old: f"{new}_{i}" for i, (old, new) in enumerate(zip(names, new_names, strict=True))}
    assert not set(mapping.values()) & taken
    renamed = cst.parse_module(source).visit(_Rename(mapping)).code
    assert _rules(renamed) == _rules(source)


@SETTINGS
@given(
    path=st.sampled_from(CORPUS),
    comments=st.lists(WORDS, min_size=1, max_size=4),
    blank=st.integers(0, 3),
)
def test_comments_and_blank_lines_keep_rules_and_fingerprints(
    path: Path, comments: list[str], blank: int
) -> None:
    source = path.read_text(encoding="utf-8")
    changed = _insert_comments(source, comments, blank)
    before, after = detectors.scan(source), detectors.scan(changed)
    assert {f.rule_id for f in after} == {f.rule_id for f in before}
    assert sorted(f.fingerprint for f in after) == sorted(f.fingerprint for f in before)


@SETTINGS
@given(path=st.sampled_from([p for p in CORPUS if "EVA001" not in p.name]))
def test_reformatting_keeps_the_rules(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    reformatted = ast.unparse(ast.parse(source)) + "\n"  # new quotes, spacing, no comments
    assert reformatted != source
    assert _rules(reformatted) == _rules(source) - {"EVA001"}


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(
            st.sampled_from(
                [
                    "(",
                    ")",
                    "[",
                    "]",
                    "lambda:",
                    "not ",
                    "-",
                    "1",
                    "x",
                    ".a",
                    "()",
                    "\n",
                    "    ",
                    "if x:",
                    "import os",
                    "#",
                    '"',
                    "'''",
                    "\\",
                    "\x00",
                    "\r",
                    "\ufeff",
                    "\udcff",
                ]
            ),  # fmt: skip
            max_size=200,
        ).map("".join),
    )
)
def test_scan_never_raises(source: str) -> None:
    findings = detectors.scan(source)
    assert all(f.line >= 0 and f.col >= 0 and f.rule_id for f in findings)
