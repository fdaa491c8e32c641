"""dynamic-code: code built or looked up at run time."""

from stopbox.detectors.dynamic_code import (  # noqa: F401 - importing registers the rules
    dyn001_exec_eval,
    dyn002_decode_then_exec,
    dyn003_computed_getattr,
    dyn004_namespace_access,
    dyn005_code_deserialisation,
    dyn006_debugger,
)
