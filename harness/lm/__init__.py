"""Language-model backends (``openai:``, ``replay:``, ``synthetic``), budgets and cassettes.

See :mod:`stopbox.harness.lm._base` for the semantics of :meth:`LanguageModel.complete` and the spec
syntax, :mod:`stopbox.harness.lm._budget` for the trusted budget accounting, and
:mod:`stopbox.harness.lm.testing` for :class:`~harness.lm.testing.FakeOpenAIServer`.
"""

from stopbox.harness.lm._base import (
    DEFAULT_OPENAI_MODEL,
    LM_BACKENDS,
    LanguageModel,
    LMResponse,
    current_lm_request,
    default_lm_spec,
    get_lm,
    lm_backend,
    lm_backend_names,
    lm_request,
)
from stopbox.harness.lm._budget import Budget, BudgetSnapshot

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "LM_BACKENDS",
    "Budget",
    "BudgetSnapshot",
    "LMResponse",
    "LanguageModel",
    "current_lm_request",
    "default_lm_spec",
    "get_lm",
    "lm_backend",
    "lm_backend_names",
    "lm_request",
]
