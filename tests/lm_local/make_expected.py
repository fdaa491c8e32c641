"""Refresh tests/lm_local/cassettes/ from a `make lm-local` run recorded with LM_LOCAL_RECORD=1.

    LM_LOCAL_RECORD=1 LM_LOCAL_OUT=/tmp/lm make lm-local
    .venv/bin/python tests/lm_local/make_expected.py /tmp/lm

Copies the cassettes and the policy snapshot, and writes expected.json (the recorded figures the
replay tests must reproduce exactly).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "cassettes"


def main(src: Path) -> None:
    HERE.mkdir(exist_ok=True)
    expected: dict[str, object] = {}
    if (src / "study.cassette.jsonl").is_file():
        shutil.copy(src / "study.cassette.jsonl", HERE / "study.cassette.jsonl")
        study = json.loads((src / "study" / "study.json").read_text())
        cfg = json.loads((src / "study" / "study-config.json").read_text())
        ledger = [
            json.loads(x) for x in (src / "study" / "attempts.jsonl").read_text().splitlines()
        ]
        expected["study"] = {
            "args": ["--samples", str(cfg["samples"]), "--samples-per-call",
                     str(cfg["samples_per_call"]), "--prompt", "plain", "--jobs", "1"],
            "prompts": {
                name: {
                    "samples": p["samples"], "bypass": p["bypass"],
                    "paper_method": p["paper_method"], "attempts": p["attempts"],
                    "headline": p["headline"],
                    "lm": {k: p["lm"][k] for k in ("prompt_tokens", "completion_tokens",
                                                    "unpriced_calls")},
                }
                for name, p in study["prompts"].items()
            },
            "classes": {s["sha256"]: s["classes"] for r in ledger for s in r["samples"]},
        }  # fmt: skip
    if (src / "run.cassette.jsonl").is_file():
        shutil.copy(src / "run.cassette.jsonl", HERE / "run.cassette.jsonl")
        report = json.loads((src / "run" / "report.json").read_text())
        keys = ("iteration", "meta_utility_val", "meta_utility_test", "val_values", "test_values",
                "reason")  # fmt: skip
        from stopbox.harness.store import RunStore

        rows = RunStore(src / "run").iterations()
        expected["run"] = {
            "args": ["--iterations", "1", "--jobs", "1", "--seed", "0"],
            "iterations": [{k: it[k] for k in keys} for it in report["iterations"]],
            "lm_usage": {k: report["lm_usage"][k] for k in ("calls", "samples", "prompt_tokens",
                                                           "completion_tokens")},
            "run_reasons": {str(r["iteration"]): r["run_reasons"] for r in rows},
        }  # fmt: skip
    shutil.copy(Path(__file__).resolve().parents[2] / "policies" / "local-lm.toml",
                HERE / "local-lm.toml")  # fmt: skip
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    figures = src / "figures.json"
    if figures.is_file():
        shutil.copy(figures, HERE / "figures.json")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
