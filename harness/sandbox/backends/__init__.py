"""The sandbox backends: ``seccomp`` (default), ``gvisor``, ``docker`` and ``none`` (debugging),
plus ``image/`` (the root filesystem and docker image the worker runs in)."""
