"""The self-check: the shipped attack programs (``attacks/``) and their judge
(:mod:`._containment`), used by ``stopbox selfcheck`` and tests/containment."""
