"""Units for checking an executor or a cluster (importable on every node, so Ray can run them).

``python -m stopbox.harness.executor.testing --ray-address HOST:PORT`` runs a few hundred
small units on the cluster and prints how many ran on each node: a quick check, before a long
study, that every node has stopbox installed and takes work.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from typing import Any

__all__ = ["digest_unit", "failing_unit", "sleepy_unit", "pid_unit", "Tally", "tally_unit", "main"]


def digest_unit(text: str, rounds: int = 1) -> str:
    """A deterministic value computed from the arguments alone."""
    value = text.encode()
    for _ in range(rounds):
        value = hashlib.sha256(value).digest()
    return value.hex()


def failing_unit(message: str) -> str:
    """A unit that fails for its own reasons (a recorded error, not a crashed run)."""
    raise RuntimeError(message)


def sleepy_unit(text: str, seconds: float) -> str:
    """A unit that mostly waits, like one LM call."""
    time.sleep(seconds)
    return digest_unit(text)


def pid_unit(text: str, seconds: float = 0.0) -> tuple[str, int]:
    """The unit's value and the process that ran it."""
    time.sleep(seconds)
    return digest_unit(text), os.getpid()


class Tally:
    """A counter for :meth:`Executor.share` checks: every unit adds to the one total."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, n: int) -> int:
        self.total += n
        return self.total

    def value(self) -> int:
        return self.total


def tally_unit(shared: Any, n: int) -> int:
    """Add ``n`` to a shared :class:`Tally` (or anything with ``add``) from wherever it runs."""
    shared.add(n)
    return n


def main(argv: list[str] | None = None) -> int:
    from stopbox.harness.executor import Unit, make_executor

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executor", default="ray", choices=("local", "ray"))
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--units", type=int, default=200)
    args = parser.parse_args(argv)
    units = [Unit(f"u{i}", (f"check/{i}", 0.02)) for i in range(args.units)]
    with make_executor(args.executor, ray_address=args.ray_address) as executor:
        results = list(executor.run(sleepy_unit, units))
        bad = [r for r in results if r.value != digest_unit(str(r.id).replace("u", "check/", 1))]
        print(executor.describe())
        print(executor.progress.describe())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
