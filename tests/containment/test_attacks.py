"""Containment: every shipped attack program, on every backend, judged from outside.

The same programs and the same outside checks back `stopbox selfcheck`
(harness/sandbox/selfcheck/_containment.py): canaries that must not appear, markers that must not
exist, listeners that must see no connection, no process left, the harness alive and answering.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stopbox.harness.sandbox import Sandbox, Status
from stopbox.harness.sandbox.selfcheck._containment import ATTACKS, Arena, Attack


@pytest.fixture(scope="session")
def arena(sandbox: Sandbox) -> Iterator[Arena]:
    with Arena(sandbox, timeout=1.5) as a:
        yield a


EXPECTED_STATUS = {
    "res_busy_loop": {Status.TIMEOUT},
    "res_sleep": {Status.TIMEOUT},
    "res_ignore_signals": {Status.TIMEOUT},
    "res_memory": {Status.MEMORY},
    "res_memory_numpy": {Status.MEMORY},
    "res_output_flood": {Status.KILLED},
    "net_tcp": {Status.VIOLATION},
    "net_unix": {Status.VIOLATION},
    "proc_subprocess": {Status.VIOLATION},
    "proc_fork_bomb": {Status.VIOLATION},
    "forge_channel": {Status.VIOLATION},
}
"""Attacks whose status is fixed by the design (others may end in several legitimate ways)."""


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_is_contained(arena: Arena, attack: Attack) -> None:
    verdict = arena.run(attack)
    assert verdict.result is not None
    assert verdict.escapes == (), f"{attack.id} escaped: {verdict.escapes}"
    assert verdict.contained
    if attack.id in EXPECTED_STATUS:
        assert verdict.result.status in EXPECTED_STATUS[attack.id], verdict.result.error


def test_the_harness_secret_never_reaches_the_worker_environment(arena: Arena) -> None:
    res = arena.sandbox.exec("import os\ndef f():\n    return dict(os.environ)\n", entry="f")
    assert res.ok
    assert arena.env_name not in res.value
    assert arena.token not in repr(res.value)
