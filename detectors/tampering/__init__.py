"""tampering: writing to the brokered objects, budgets, helper modules or evaluator files."""

from stopbox.detectors.tampering import (  # noqa: F401 - importing registers the rules
    tmp001_broker_attribute_write,
    tmp002_budget_write,
    tmp003_broker_construction,
    tmp004_evaluator_files,
    tmp005_module_monkeypatch,
    tmp006_language_model_escape,
)
