"""Attack programs shipped with stopbox for `stopbox selfcheck` and tests/containment.

Each module defines ``attack(ctx)``; ``ctx`` is the dict built by
:mod:`stopbox.harness.sandbox.selfcheck._containment` (canary paths, markers, listener port, decoy pid ...).
They are untrusted code on purpose and only ever run inside a sandbox backend.
"""
