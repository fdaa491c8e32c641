"""process: new processes, forks, threads, signals and resource limits."""

from stopbox.detectors.process import (  # noqa: F401 - importing registers the rules
    prc001_process_spawn,
    prc002_fork_parallel,
    prc003_signals_resources,
)
