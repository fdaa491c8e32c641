"""sandbox-bypass: the sandbox flag turned off or made non-literal, sandbox helpers redefined,
candidates run outside the sandbox."""

from stopbox.detectors.sandbox_bypass import (  # noqa: F401 - importing registers the rules
    sbx001_use_sandbox_falsy,
    sbx002_use_sandbox_non_literal,
    sbx003_use_sandbox_kwargs,
    sbx004_use_sandbox_positional,
    sbx005_wrapper_default,
    sbx006_sandbox_name_rebound,
    sbx007_candidate_outside_sandbox,
    sbx008_capability_flow,
    sbx009_capability_splat,
)
