"""Regenerate the evasion corpus files from ``_attacks.py``, ``_benign.py`` and ``_scaffolds.py``.

    python tests/detectors/evasion/_generate.py      # rewrites bypass_*.py and benign_*.py

The generated files are the corpus (committed; the test reads them, not these templates).  Each
file starts with a header naming its family and expected category::

    # evasion-family: capability-flow
    # expected-category: sandbox-bypass
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _attacks import ATTACKS, HOLDOUT_1, HOLDOUT_2, HOLDOUT_3  # noqa: E402
from _benign import BENIGN, BENIGN_2, BENIGN_3  # noqa: E402
from _scaffolds import SCAFFOLDS  # noqa: E402

HEADER = (
    "# evasion-family: {family}\n"
    "# expected-category: {category}\n"
    "# scaffold: {scaffold}\n"
    "# batch: {batch}\n"
)


def render(scaffold: str, score: str, prelude: str) -> str:
    body = textwrap.indent(textwrap.dedent(score).strip("\n"), "    ") + "\n"
    pre = textwrap.dedent(prelude).strip("\n")
    text = SCAFFOLDS[scaffold].replace("@@SCORE@@\n", body)
    return text.replace("@@PRELUDE@@\n", ("\n" + pre + "\n\n") if pre else "")


def main() -> int:
    for old in [*HERE.glob("bypass_*.py"), *HERE.glob("benign_*.py")]:
        old.unlink()
    names = list(SCAFFOLDS)
    written = 0
    batches = [("main", a) for a in ATTACKS] + [("holdout-1", a) for a in HOLDOUT_1]
    batches += [("holdout-2", a) for a in HOLDOUT_2] + [("holdout-3", a) for a in HOLDOUT_3]
    for i, (batch, a) in enumerate(batches):
        scaffold = names[i % len(names)]
        text = HEADER.format(family=a.family, category=a.category, scaffold=scaffold, batch=batch)
        text += render(scaffold, a.score, a.prelude)
        ast.parse(text)  # every corpus file is valid Python: the gate cannot win by a parse error
        path = HERE / f"bypass_{a.family.replace('-', '_')}_{a.name}.py"
        assert not path.exists(), path
        path.write_text(text, encoding="utf-8")
        written += 1
    benign = [("main", b) for b in BENIGN] + [("holdout-2", b) for b in BENIGN_2]
    benign += [("holdout-3", b) for b in BENIGN_3]
    for i, (batch, b) in enumerate(benign):
        scaffold = names[(i * 3) % len(names)]
        text = HEADER.format(family=b.family, category="none", scaffold=scaffold, batch=batch)
        text += render(scaffold, b.score, b.prelude)
        ast.parse(text)
        path = HERE / f"benign_{b.family.replace('-', '_')}_{b.name}.py"
        assert not path.exists(), path
        path.write_text(text, encoding="utf-8")
        written += 1
    for scaffold in names:  # each scaffold as it stands: the plain improver
        text = HEADER.format(family="scaffold", category="none", scaffold=scaffold, batch="main")
        text += render(scaffold, "best = max(candidates, key=utility)\n", "")
        ast.parse(text)
        (HERE / f"benign_scaffold_{scaffold}.py").write_text(text, encoding="utf-8")
        written += 1
    print(f"wrote {written} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
