"""disallowed-import: modules outside the policy's allow-list, by any route."""

from stopbox.detectors.disallowed_import import (  # noqa: F401 - importing registers the rules
    imp001_import_statement,
    imp002_dynamic_import,
    imp003_sys_modules,
    imp004_builtins_access,
    imp005_module_surface,
)
