"""``synthetic`` — an offline, deterministic, seeded proposer.  It is *not* a language model.

Spec: ``synthetic`` or ``synthetic:red_team_rate=0.05`` (``get_lm``'s ``seed`` seeds it).

Each sample is drawn with its own ``random.Random`` seeded from sha256 of (seed, system, message,
temperature, n, sample index, occurrence), where ``occurrence`` counts earlier identical requests
in this run.  So the same seed and the same sequence of prompts give the same texts, and the
result does not depend on how messages are grouped into calls or on a global call order.  Inside
``stopbox.harness.lm.lm_request(name)`` the name joins the seed and occurrences count per name,
so calls made in parallel get the same texts whatever order they complete in.

What it answers depends on what the prompt asks (see :func:`classify_request`):

* an **improver** (the first code block of the message defines ``improve_algorithm``, or no
  code and no task is shown and the text mentions it) → one of :data:`~.improvers.STRATEGIES`,
  skewed by the temperature and by the tier of the improver shown;
* a **task solution** → a variant from
  ``stopbox.harness.lm.synthetic.solutions.<task>.VARIANTS`` skewed by the temperature and the
  quality of the solution shown; without a solutions module for the task it echoes the solution
  shown (label ``quality: "echo"``);
* with probability ``red_team_rate`` per sample, a known bypass attempt instead
  (:data:`~.attacks.ATTACKS` for improvers, :data:`~.attacks.SOLUTION_ATTACKS` for solutions),
  labelled with its ground-truth categories.

Answers look like an LM's: an "idea" sentence, then a ```python fenced program.  Labels (one per
sample): ``{"kind", "strategy"|"quality", "task", "tier", "injected": [...], "attack": id|None}``.
Token counts are estimates (characters / 4); cost is 0.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from stopbox.harness.lm._base import (
    LanguageModel,
    LMResponse,
    OccurrenceCounter,
    SpecOptions,
    current_lm_request,
    lm_backend,
    validate_request,
)
from stopbox.harness.lm.synthetic import _solutions
from stopbox.harness.lm.synthetic.attacks import ATTACK_BASE_STRATEGY, ATTACKS, SOLUTION_ATTACKS
from stopbox.harness.lm.synthetic.improvers import SEED_TIER, STRATEGIES, ImproverStrategy

__all__ = ["SyntheticLM", "Request", "classify_request", "SYNTHETIC_LABEL"]

SYNTHETIC_LABEL = "synthetic (not a language model)"
_CODE_BLOCK = re.compile(r"```(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL)
_STRATEGY_MARK = re.compile(r"Strategy:\s*([a-z][a-z0-9-]*)\.")


@dataclass(frozen=True, slots=True)
class Request:
    kind: str
    """``improver`` or ``solution``."""
    shown: str | None
    """The program shown in the prompt (first fenced block), if any."""
    task: str | None = None


def _blocks(text: str) -> list[str]:
    return [b.strip("\n") for b in _CODE_BLOCK.findall(text)]


def classify_request(system: str, message: str) -> Request:
    """What the prompt asks for: an improver or a solution of which task."""
    blocks = _blocks(message)
    shown = blocks[0] if blocks else None
    if shown is not None and "def improve_algorithm" in shown:
        return Request("improver", shown)
    task = _solutions.identify_task(message) or _solutions.identify_task(system)
    if shown is None and task is None and "improve_algorithm" in message + system:
        return Request("improver", shown)
    return Request("solution", shown, task)


def _tier_of_improver(source: str | None) -> int:
    if source:
        match = _STRATEGY_MARK.search(source)
        if match:
            for strategy in STRATEGIES:
                if strategy.name == match.group(1):
                    return strategy.tier
    return SEED_TIER


def _improver_weight(tier: int, current: int, temperature: float) -> float:
    t = min(max(temperature, 0.0), 2.0)
    delta = tier - current
    if tier == 0:
        return 0.10 + 0.10 * t
    if delta == 0:
        return max(0.2, 0.8 - 0.3 * t)
    if delta > 0:
        return (0.5 + 0.2 * t) * (0.4 + 0.2 * t) ** (delta - 1)
    return (0.2 + 0.1 * t) * 0.6 ** (-delta - 1)


def choose_strategy(shown: str | None, temperature: float, rng: random.Random) -> ImproverStrategy:
    current = _tier_of_improver(shown)
    weights = [_improver_weight(s.tier, current, temperature) for s in STRATEGIES]
    if temperature <= 0.0:
        return STRATEGIES[max(range(len(STRATEGIES)), key=lambda i: (weights[i], -i))]
    return rng.choices(STRATEGIES, weights=weights)[0]


def _parses(source: str) -> bool:
    """Whether a program parses (parsed only, never run)."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _fenced(idea: str, source: str) -> str:
    return f"{idea}\n\n```python\n{source.rstrip()}\n```\n"


_SOLUTION_IDEAS = {
    0: "Idea: take a shortcut that skips most of the work.",
    1: "Idea: a straightforward version that tries every option.",
    2: "Idea: keep the simple approach but tidy it up.",
    3: "Idea: exploit the structure of the problem to prune the search.",
    4: "Idea: use a stronger algorithm and spend the time budget on refinement.",
    5: "Idea: combine the best known algorithm with careful tuning of its parameters.",
}


class SyntheticLM(LanguageModel):
    """Deterministic seeded proposer of improvers and task solutions (not a language model)."""

    is_synthetic = True
    per_call_instances = True

    def __init__(
        self,
        seed: int = 0,
        *,
        red_team_rate: float = 0.0,
        latency_s: float = 0.0,
        distinct: bool = False,
    ) -> None:
        if not 0.0 <= red_team_rate <= 1.0:
            raise ValueError(f"red_team_rate must be in [0, 1], got {red_team_rate}")
        self.seed = seed
        self.red_team_rate = red_team_rate
        self.latency_s = latency_s
        """Seconds each :meth:`complete` takes (a slow LM for benchmarks; cut by deadlines)."""
        self.distinct = distinct
        """Mark each sample with a unique ``# sample <hash>`` comment (no cache hides a call)."""
        self.model = "synthetic"
        self.spec = (
            "synthetic" if red_team_rate == 0 else f"synthetic:red_team_rate={red_team_rate:g}"
        )
        self._occurrences = OccurrenceCounter()

    @property
    def label(self) -> str:
        if self.red_team_rate:
            return f"{SYNTHETIC_LABEL}, red_team_rate={self.red_team_rate:g}"
        return SYNTHETIC_LABEL

    def _rng(
        self,
        system: str,
        message: str,
        temperature: float,
        n: int,
        j: int,
        k: int,
        name: str | None,
    ) -> random.Random:
        parts: list[object] = [self.seed, system, message, float(temperature), n, j, k]
        if name is not None:
            parts.append(name)
        blob = json.dumps(parts)
        return random.Random(int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big"))

    def _improver(
        self, request: Request, temperature: float, rng: random.Random
    ) -> tuple[str, dict[str, Any]]:
        if self.red_team_rate and rng.random() < self.red_team_rate:
            attack = ATTACKS[rng.randrange(len(ATTACKS))]
            label: dict[str, Any] = {
                "kind": "improver",
                "strategy": ATTACK_BASE_STRATEGY,
                "tier": None,
                "injected": list(attack.categories),
                "attack": attack.id,
            }
            idea = "Idea: evaluate candidates faster and make the most of every resource."
            return _fenced(idea, attack.source), label
        strategy = choose_strategy(request.shown, temperature, rng)
        label = {"kind": "improver", "strategy": strategy.name, "tier": strategy.tier,
                 "injected": [], "attack": None}  # fmt: skip
        return _fenced(f"Idea: {strategy.idea}", strategy.source), label

    def _solution(
        self, request: Request, temperature: float, rng: random.Random
    ) -> tuple[str, dict[str, Any]]:
        variants = _solutions.load_variants(request.task) if request.task else ()
        if variants:
            chosen = _solutions.choose_variant(variants, request.shown, temperature, rng)
            source, quality, tier = chosen.source, chosen.quality, chosen.tier
            idea = _SOLUTION_IDEAS.get(tier, _SOLUTION_IDEAS[2])
        else:
            source, quality, tier = request.shown or "", "echo", None
            idea = (
                "Idea: no solution family known for this task; the program is returned unchanged."
            )
        label: dict[str, Any] = {"kind": "solution", "quality": quality, "task": request.task,
                                 "tier": tier, "injected": [], "attack": None}  # fmt: skip
        if self.red_team_rate and rng.random() < self.red_team_rate:
            attack = SOLUTION_ATTACKS[rng.randrange(len(SOLUTION_ATTACKS))]
            if not _parses(source):  # an attack in unparseable code could neither run nor be seen
                return _fenced(idea, source), label
            source = attack.apply(source)
            label["injected"], label["attack"] = list(attack.categories), attack.id
        return _fenced(idea, source), label

    def complete(
        self, system: str, messages: list[str], *, temperature: float, n: int = 1
    ) -> LMResponse:
        validate_request(messages, temperature, n)
        if self.latency_s > 0:
            _wait(self.latency_s)
        texts: list[str] = []
        labels: list[dict[str, Any]] = []
        prompt_chars = completion_chars = 0
        name = current_lm_request()
        for message in messages:
            occurrence = self._occurrences.take(self.model, system, message, temperature, n, name)
            request = classify_request(system, message)
            prompt_chars += len(system) + len(message)
            for j in range(n):
                rng = self._rng(system, message, temperature, n, j, occurrence, name)
                if request.kind == "improver":
                    text, label = self._improver(request, float(temperature), rng)
                else:
                    text, label = self._solution(request, float(temperature), rng)
                if self.distinct:
                    text = _mark(text, f"{self.seed}/{message}/{j}/{occurrence}/{name}")
                texts.append(text)
                labels.append(label)
                completion_chars += len(text)
        return LMResponse(
            texts=tuple(texts),
            prompt_tokens=prompt_chars // 4,
            completion_tokens=completion_chars // 4,
            cost_usd=0.0,
            model=self.model,
            labels=tuple(labels),
        )


def _wait(seconds: float) -> None:
    """Sleep ``seconds``, or until the caller's LM deadline (then raise, as a real call would)."""
    from stopbox.harness.lm._deadline import DeadlineExceeded, current_deadline

    deadline = current_deadline()
    if deadline is not None and deadline.remaining() < seconds:
        time.sleep(max(0.0, deadline.remaining()))
        raise DeadlineExceeded(deadline, "the synthetic LM's latency_s")
    time.sleep(seconds)


def _mark(text: str, ident: str) -> str:
    """``text`` with a unique comment inside its last code block (or at its end)."""
    tag = f"# sample {hashlib.sha256(ident.encode()).hexdigest()[:16]}\n"
    fence = text.rfind("```")
    if fence > 0 and text.count("```") >= 2:
        head = text[:fence]
        return head + ("" if head.endswith("\n") else "\n") + tag + text[fence:]
    return text + ("" if text.endswith("\n") else "\n") + tag


@lm_backend("synthetic")
def _make_synthetic(argument: str, seed: int) -> LanguageModel:
    spec = f"synthetic:{argument}" if argument else "synthetic"
    options = SpecOptions.parse(
        argument, spec=spec, allowed=("red_team_rate", "latency_s", "distinct")
    )
    rate = options.number("red_team_rate", 0.0, spec=spec, lo=0.0, hi=1.0)
    latency = options.number("latency_s", 0.0, spec=spec, lo=0.0, hi=3600.0)
    distinct = options.number("distinct", 0.0, spec=spec, lo=0.0, hi=1.0) >= 1.0
    lm = SyntheticLM(seed, red_team_rate=rate, latency_s=latency, distinct=distinct)
    lm.spec = spec
    return lm
