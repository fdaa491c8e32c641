"""CLI subcommands, one module each; every module has ``register(app)``."""

from stopbox.harness.commands import (
    audit,
    compare,
    exec_,
    policy_cmd,
    report,
    run,
    selfcheck,
    study,
)

COMMAND_MODULES = (exec_, selfcheck, audit, run, study, report, compare, policy_cmd)

__all__ = ["COMMAND_MODULES"]
