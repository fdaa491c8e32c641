"""The study prompt is built from the seed programs; its differences are named data."""

from __future__ import annotations

import pytest


def test_the_study_prompt_is_built_from_the_seeds_with_its_budget_as_a_parameter() -> None:
    from stopbox.harness.stop import study_prompt as sp
    from stopbox.harness.stop.loop import meta_utility_source, seed_improver_source

    assert (sp.STUDY_LM_CALLS, sp.STUDY_SAMPLES_PER_CALL) == (5, 5)
    assert "LanguageModel(budget=5, max_responses_per_call=5)" in sp.META_UTILITY
    other = sp.study_meta_utility(lm_calls=3, samples_per_call=7)
    assert "LanguageModel(budget=3, max_responses_per_call=7)" in other
    assert "at most 3 calls to the language model, and at most 7 samples per call" in other
    seed_lines = {line for line in meta_utility_source().splitlines() if "import" in line}
    assert seed_lines and all(line in sp.META_UTILITY for line in seed_lines)
    assert f'expertise = "{sp.EXPERTISE}"' in seed_improver_source()
    assert f"temperature={sp.TEMPERATURE}" in seed_improver_source()


def test_a_changed_seed_fails_loudly_instead_of_drifting(monkeypatch: pytest.MonkeyPatch) -> None:
    from stopbox.harness.stop import study_prompt as sp

    changed = "def meta_utility(improve_str, use_sandbox):\n    return 0\n"
    monkeypatch.setattr(sp, "meta_utility_source", lambda: changed)
    with pytest.raises(RuntimeError, match="the seed changed"):
        sp.study_meta_utility()
