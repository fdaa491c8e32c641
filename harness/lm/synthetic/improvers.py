"""Improver programs the synthetic proposer writes: the strategies the STOP paper reports.

Each :class:`ImproverStrategy` is a complete program in the paper's interface
(``improve_algorithm(initial_solution, utility, language_model) -> str``, ``from helpers import
extract_code``, ``language_model.batch_prompt(expertise, messages, temperature=...)``,
``language_model.budget`` (LM calls left), ``language_model.max_responses_per_call``,
``utility(candidate, use_sandbox=True)``, ``utility.budget`` (evaluations left), ``utility.str``).
Plain Python with ``random``/``math`` only.  Every one checks the budgets, catches the budget
exception (any exception from a brokered call ends the search) and always returns a string.

``tier`` orders them by quality (0 buggy … 4 iterative search that spends both budgets well); the
seed improver of the paper sits at tier 2.  The docstring of each program names its strategy
(``Strategy: <name>.``), which is how the proposer recognises an improver it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from stopbox.harness.lm.synthetic._programs import BODIES, PROMPT_HELPERS, SCORER

__all__ = ["ImproverStrategy", "STRATEGIES", "SEED_TIER", "strategy_named", "PROMPT_HELPERS"]

SEED_TIER = 2


@dataclass(frozen=True, slots=True)
class ImproverStrategy:
    name: str
    tier: int
    idea: str
    """The one-sentence idea the proposer writes before the code."""
    body: str
    """``improve_algorithm`` and any helpers it needs (after the shared prompt helpers)."""

    @property
    def source(self) -> str:
        uses_scorer = "Scorer(" in self.body
        return PROMPT_HELPERS + (SCORER if uses_scorer else "") + "\n\n" + self.body.strip() + "\n"


_S = ImproverStrategy
STRATEGIES: tuple[ImproverStrategy, ...] = (
    _S("forgetful", 0, "Score every sample and keep the best one.", BODIES["forgetful"]),
    _S("worst-of-n", 0, "Sample several answers and keep the top one.", BODIES["worst_of_n"]),
    _S("single-sample", 1, "Save budget by asking for a single greedy answer.",
       BODIES["single_sample"]),
    _S("best-of-n", 2, "Sample a batch of improvements and keep the best by utility.",
       BODIES["best_of_n_once"]),
    _S("best-of-n-all", 3, "Spend the whole LM budget on independent samples.",
       BODIES["best_of_n_all"]),
    _S("part-by-part", 3, "Improve one part of the program at a time.", BODIES["part_by_part"]),
    _S("bandit", 4, "Treat prompt hints as arms of a bandit and pick them by UCB.",
       BODIES["bandit"]),
    _S("temperature-schedule", 4, "Explore hot first, then cool down while refining the best "
       "solution.", BODIES["temperature_schedule"]),
    _S("beam-search", 4, "Keep a beam of the best solutions and expand each.",
       BODIES["beam_search"]),
    _S("genetic-algorithm", 4, "Evolve a population with mutation and crossover.",
       BODIES["genetic"]),
    _S("simulated-annealing", 4, "Accept worse neighbours early, like annealing.",
       BODIES["annealing"]),
)  # fmt: skip


def strategy_named(name: str) -> ImproverStrategy:
    for strategy in STRATEGIES:
        if strategy.name == name:
            return strategy
    raise KeyError(name)
