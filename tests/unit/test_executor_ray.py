"""The Ray executor's private local instance, for real (Ray installed; one short start-up).

Without ``--ray-address`` stopbox starts its own Ray instance: it must not join another cluster,
must keep every Ray server on 127.0.0.1, must run units and report failures as data, and must
leave no process behind.  Skipped when Ray is missing unless STOPBOX_REQUIRE_BACKENDS names ray.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from stopbox.harness.errors import BudgetExceededError
from tests.conftest import ray_required


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _listening(pids: set[int]) -> list[str]:
    """Local addresses of TCP listeners owned by ``pids`` (``ss -ltnpH``)."""
    lines = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout.splitlines()
    out = []
    for line in lines:
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            out.append(line.split()[3])
    return out


def test_private_instance_runs_units_on_loopback_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        if ray_required():
            pytest.fail("ray is required (STOPBOX_REQUIRE_RAY) but not installed")
        pytest.skip("Ray is not installed (pip install -e '.[ray]')")
    from stopbox.harness.executor import Unit, make_executor
    from stopbox.harness.executor.testing import Tally, digest_unit, failing_unit, tally_unit
    from stopbox.harness.lm import LMResponse
    from stopbox.harness.stop._lm_access import RunBudget

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # a cluster we did not name: never joined
    monkeypatch.setenv("OPENAI_API_KEY", "sk-private-test")
    units = [Unit(f"u{i}", (f"t{i}",)) for i in range(20)]
    before = _descendants(os.getpid())  # other tests' sandbox workers may be running: not ours
    with make_executor("ray", max_concurrency=8) as executor:
        results = {r.id: r for r in executor.run(digest_unit, units)}
        listeners = _listening(_descendants(os.getpid()))
        failed = list(executor.run(failing_unit, [Unit("bad", ("on purpose",))]))
        # one object every unit acts on, wherever it runs (the run-wide LM budget)
        tally = executor.share(Tally())
        added = list(executor.run(tally_unit, [Unit(f"t{i}", (tally, i)) for i in range(10)]))
        budget = executor.share(RunBudget(calls=3))
        for _ in range(3):
            budget.check()
            budget.charge(LMResponse(("x",), prompt_tokens=1, completion_tokens=1, model="m"))
        with pytest.raises(BudgetExceededError, match="run_lm_calls = 3"):
            budget.check()
        total = tally.value()
        temp_dir = executor._temp_dir  # type: ignore[attr-defined]
    assert {k: r.value for k, r in results.items()} == {u.id: digest_unit(*u.args) for u in units}
    assert {r.node.split("/")[0] for r in results.values()} == {"127.0.0.1"}
    assert listeners, "the private instance should listen somewhere"
    outward = [a for a in listeners if not a.startswith(("127.", "[::1]", "[::ffff:127."))]
    assert outward == []
    assert failed[0].error is not None and failed[0].error.startswith("RuntimeError: on purpose")
    assert temp_dir is not None and not Path(temp_dir).exists()
    assert sorted(r.value for r in added) == list(range(10)) and total == 45
    import time

    deadline = time.monotonic() + 20
    while _descendants(os.getpid()) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _descendants(os.getpid()) - before
    assert not [p for p in left if Path(f"/proc/{p}").exists()], "Ray processes left running"
