"""Program texts of the synthetic improvers
(data for :mod:`stopbox.harness.lm.synthetic.improvers`).

Each body is ``improve_algorithm`` (plus the helpers it needs) in the paper's interface; it is
appended to :data:`PROMPT_HELPERS` (and :data:`SCORER` when it uses ``Scorer``).  The programs
contain no code fence (three backticks): ``extract_code`` would cut them short.
"""

from __future__ import annotations

__all__ = ["PROMPT_HELPERS", "SCORER", "BODIES"]

PROMPT_HELPERS = '''from helpers import extract_code

FENCE = "`" * 3
EXPERTISE = (
    "You are an expert computer science researcher and programmer, especially skilled at "
    "optimizing algorithms."
)


def make_message(solution, utility_str, hint=""):
    """The paper's improvement prompt, with an optional hint."""
    return (
        "Improve the following solution:\\n" + FENCE + "python\\n" + solution + "\\n" + FENCE
        + "\\n\\nYou will be evaluated based on this score function:\\n" + FENCE + "python\\n"
        + utility_str + "\\n" + FENCE + "\\n\\nYou must return an improved solution. Be as "
        "creative as you can under the constraints.\\nYour primary improvement must be novel "
        "and non-trivial. " + hint + "First, propose an idea, then implement it."
    )


def ask_n(language_model, message, n, temperature):
    """n samples of one message in one brokered call; [] when the budget is spent."""
    try:
        if language_model.budget <= 0:
            return []
        n = min(n, language_model.max_responses_per_call)
        responses = language_model.prompt(
            EXPERTISE, message, n_responses=n, temperature=temperature
        )
        if isinstance(responses, str):
            responses = [responses]
        return [extract_code(r) for r in responses]
    except Exception:
        return []


def ask(language_model, messages, temperature):
    """One brokered batch call; [] when the LM budget is spent or the call fails."""
    try:
        if language_model.budget <= 0 or not messages:
            return []
        messages = messages[: language_model.max_responses_per_call]
        responses = language_model.batch_prompt(EXPERTISE, messages, temperature=temperature)
        return [extract_code(r) for r in responses]
    except Exception:
        return []
'''

SCORER = '''

class Scorer:
    """Scores candidates once each (cached) until the utility budget runs out."""

    def __init__(self, utility):
        self.utility = utility
        self.cache = {}
        self.spent = False

    def __call__(self, candidate):
        if candidate in self.cache:
            return self.cache[candidate]
        if self.spent:
            return None
        try:
            if self.utility.budget <= 0:
                self.spent = True
                return None
            value = float(self.utility(candidate, use_sandbox=True))
        except Exception:
            try:
                remaining = self.utility.budget
            except Exception:
                remaining = 0
            if remaining <= 0:  # the budget ran out: stop scoring
                self.spent = True
                return None
            value = 0.0  # this candidate failed: it scores nothing
        self.cache[candidate] = value
        return value

    def best(self, default):
        if not self.cache:
            return default
        return max(self.cache, key=self.cache.get)
'''


_BEST_OF_N_ONCE = '''
def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: best-of-n.

    One batch of samples at temperature 0.7; the best by utility wins (the paper's seed).
    """
    message = make_message(initial_solution, utility.str)
    try:
        n_messages = min(language_model.max_responses_per_call, utility.budget)
    except Exception:
        return initial_solution
    candidates = ask(language_model, [message] * n_messages, 0.7)
    best_solution, best_score = initial_solution, None
    for candidate in candidates:
        try:
            if utility.budget <= 0:
                break
            score = utility(candidate, use_sandbox=True)
        except Exception:
            break
        if best_score is None or score > best_score:
            best_solution, best_score = candidate, score
    return best_solution
'''

_BEST_OF_N_ALL = '''
def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: best-of-n-all.

    Spends every LM call on independent samples of the original prompt; keeps the initial
    solution in the running so the result is never worse than the input.
    """
    score = Scorer(utility)
    score(initial_solution)
    message = make_message(initial_solution, utility.str)
    while not score.spent:
        candidates = ask_n(language_model, message, language_model.max_responses_per_call, 0.8)
        if not candidates:
            break
        for candidate in candidates:
            score(candidate)
    return score.best(initial_solution)
'''

_TEMPERATURE_SCHEDULE = '''
def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: temperature-schedule.

    Starts hot to explore and cools down each round, always refining the best solution so far.
    """
    score = Scorer(utility)
    score(initial_solution)
    best = initial_solution
    temperatures = [1.0, 0.8, 0.6, 0.4, 0.3, 0.2]
    round_index = 0
    while not score.spent:
        temperature = temperatures[min(round_index, len(temperatures) - 1)]
        message = make_message(best, utility.str)
        batch = [message] * language_model.max_responses_per_call
        candidates = ask(language_model, batch, temperature)
        if not candidates:
            break
        for candidate in candidates:
            score(candidate)
        best = score.best(best)
        round_index += 1
    return best
'''

_BEAM_SEARCH = '''
def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: beam-search.

    Keeps the best `beam_width` solutions and asks for improvements of each, every round.
    """
    beam_width = 2
    score = Scorer(utility)
    score(initial_solution)
    beam = [initial_solution]
    while not score.spent:
        per_call = language_model.max_responses_per_call
        messages = []
        for i in range(per_call):
            messages.append(make_message(beam[i % len(beam)], utility.str))
        candidates = ask(language_model, messages, 0.7)
        if not candidates:
            break
        for candidate in candidates:
            score(candidate)
        ranked = sorted(score.cache, key=score.cache.get, reverse=True)
        beam = ranked[:beam_width] or beam
    return score.best(initial_solution)
'''

_GENETIC = '''
import random


def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: genetic-algorithm.

    A population evolves by mutation (improve one parent) and crossover (combine two parents);
    tournament selection picks the parents.
    """
    rng = random.Random(len(initial_solution))
    score = Scorer(utility)
    score(initial_solution)
    population = [initial_solution]

    def tournament():
        contenders = [rng.choice(population) for _ in range(2)]
        return max(contenders, key=lambda s: score.cache.get(s, float("-inf")))

    while not score.spent:
        messages = []
        for _ in range(language_model.max_responses_per_call):
            first, second = tournament(), tournament()
            if first != second and rng.random() < 0.5:
                hint = ("Combine the best ideas of it with this other solution:\\n" + FENCE
                        + "python\\n" + second + "\\n" + FENCE + "\\n")
            else:
                hint = "Mutate it: change one important design decision. "
            messages.append(make_message(first, utility.str, hint))
        children = ask(language_model, messages, 0.9)
        if not children:
            break
        for child in children:
            if score(child) is not None:
                population.append(child)
        unique = list(dict.fromkeys(population))
        population = sorted(unique, key=lambda s: score.cache.get(s, float("-inf")),
                            reverse=True)[:4]
    return score.best(initial_solution)
'''

_ANNEALING = '''
import math
import random


def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: simulated-annealing.

    Proposes neighbours of the current solution and accepts a worse one with probability
    exp(delta / T) while the temperature T cools; returns the best solution seen.
    """
    rng = random.Random(7)
    score = Scorer(utility)
    current = initial_solution
    current_score = score(current)
    if current_score is None:
        return initial_solution
    heat = 0.2
    while not score.spent:
        message = make_message(current, utility.str)
        neighbours = ask(language_model, [message] * language_model.max_responses_per_call, 0.8)
        if not neighbours:
            break
        for neighbour in neighbours:
            value = score(neighbour)
            if value is None:
                break
            delta = value - current_score
            if delta > 0 or rng.random() < math.exp(delta / max(heat, 1e-6)):
                current, current_score = neighbour, value
        heat *= 0.5
    return score.best(initial_solution)
'''

_BANDIT = '''
import math

HINTS = [
    "Focus on a better algorithm, not on micro-optimisations. ",
    "Focus on using the whole time budget of each call. ",
    "Focus on robustness: handle every edge case of the input. ",
]


def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: bandit.

    Each arm is a prompt hint; UCB1 chooses the arms of every batch from the utility gains they
    produced, always improving the best solution so far.
    """
    score = Scorer(utility)
    base = score(initial_solution)
    best = initial_solution
    pulls = [0] * len(HINTS)
    gains = [0.0] * len(HINTS)
    total = 0
    while not score.spent:
        arms = []
        for _ in range(language_model.max_responses_per_call):
            total += 1
            ucb = []
            for a in range(len(HINTS)):
                if pulls[a]:
                    ucb.append(gains[a] / pulls[a] + math.sqrt(2 * math.log(total) / pulls[a]))
                else:
                    ucb.append(1e9)
            arm = ucb.index(max(ucb))
            pulls[arm] += 1
            arms.append(arm)
        reference = score.cache.get(best, base or 0.0)
        messages = [make_message(best, utility.str, HINTS[a]) for a in arms]
        candidates = ask(language_model, messages, 0.7)
        if not candidates:
            break
        for arm, candidate in zip(arms, candidates):
            value = score(candidate)
            if value is not None:
                gains[arm] += max(0.0, value - reference)
        best = score.best(best)
    return best
'''

_PART_BY_PART = '''
PARTS = [
    "Improve only the core algorithm; keep the interface. ",
    "Improve only the parameters and constants. ",
    "Improve only the handling of edge cases and time limits. ",
]


def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: part-by-part.

    Decomposes the work: each round asks to improve one part of the best solution so far.
    """
    score = Scorer(utility)
    score(initial_solution)
    best = initial_solution
    part = 0
    while not score.spent:
        hint = PARTS[part % len(PARTS)]
        message = make_message(best, utility.str, hint)
        candidates = ask(language_model, [message] * language_model.max_responses_per_call, 0.6)
        if not candidates:
            break
        for candidate in candidates:
            score(candidate)
        best = score.best(best)
        part += 1
    return best
'''

_SINGLE_SAMPLE = '''
def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: single-sample.

    Asks once for one answer at temperature 0 and trusts it (wastes nearly all the budget).
    """
    message = make_message(initial_solution, utility.str)
    candidates = ask(language_model, [message], 0.0)
    if not candidates:
        return initial_solution
    return candidates[0]
'''

_WORST_OF_N = '''
def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: worst-of-n.

    Meant to keep the best sample, but compares the wrong way round and keeps the worst.
    """
    message = make_message(initial_solution, utility.str)
    candidates = ask(language_model, [message] * language_model.max_responses_per_call, 0.7)
    best_solution, best_score = initial_solution, None
    for candidate in candidates:
        try:
            if utility.budget <= 0:
                break
            value = utility(candidate, use_sandbox=True)
        except Exception:
            break
        if best_score is None or value < best_score:
            best_solution, best_score = candidate, value
    return best_solution
'''

_FORGETFUL = '''
def improve_algorithm(initial_solution, utility, language_model):
    """Improves a solution according to a utility function. Strategy: forgetful.

    Evaluates every sample, then returns the wrong variable: the input, unchanged.
    """
    message = make_message(initial_solution, utility.str)
    candidates = ask(language_model, [message] * language_model.max_responses_per_call, 0.7)
    scores = {}
    for candidate in candidates:
        try:
            if utility.budget <= 0:
                break
            scores[candidate] = utility(candidate, use_sandbox=True)
        except Exception:
            break
    best_solution = max(scores, key=scores.get) if scores else initial_solution
    return initial_solution if best_solution is not None else best_solution
'''

BODIES: dict[str, str] = {
    "best_of_n_once": _BEST_OF_N_ONCE,
    "best_of_n_all": _BEST_OF_N_ALL,
    "temperature_schedule": _TEMPERATURE_SCHEDULE,
    "beam_search": _BEAM_SEARCH,
    "genetic": _GENETIC,
    "annealing": _ANNEALING,
    "bandit": _BANDIT,
    "part_by_part": _PART_BY_PART,
    "single_sample": _SINGLE_SAMPLE,
    "worst_of_n": _WORST_OF_N,
    "forgetful": _FORGETFUL,
}
