"""The synthetic proposer (``--lm synthetic``): offline, deterministic, seeded; not an LM.

Its program library is data: :data:`STRATEGIES` (improvers of the paper's strategies, by quality
tier), :data:`ATTACKS` / :data:`SOLUTION_ATTACKS` (known bypass attempts with their ground-truth
categories) and, per task, ``stopbox.harness.lm.synthetic.solutions.<task>.VARIANTS`` (tasks part).
"""

from stopbox.harness.lm.synthetic._backend import (
    SYNTHETIC_LABEL,
    Request,
    SyntheticLM,
    classify_request,
)
from stopbox.harness.lm.synthetic.attacks import ATTACKS, CATEGORIES, SOLUTION_ATTACKS, Attack
from stopbox.harness.lm.synthetic.improvers import STRATEGIES, ImproverStrategy

__all__ = [
    "ATTACKS",
    "CATEGORIES",
    "SOLUTION_ATTACKS",
    "STRATEGIES",
    "SYNTHETIC_LABEL",
    "Attack",
    "ImproverStrategy",
    "Request",
    "SyntheticLM",
    "classify_request",
]
