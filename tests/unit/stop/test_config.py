"""The config snapshot is valid TOML that reads back as the recorded config."""

from __future__ import annotations

import tomllib

from stopbox.harness.policy import load_policy, policy_from_dict
from stopbox.harness.stop._config import to_toml
from stopbox.harness.stop.session import run_config


def test_run_config_round_trips_through_toml_and_rebuilds_the_policy() -> None:
    policy = load_policy("quick")
    lm = {"spec": "synthetic", "synthetic": True, "label": 'x "quoted"'}
    config = run_config(tasks=["lpn", "parity"], iterations=2, seed=7, policy=policy,
                        policy_label="quick", jobs=2, lm=lm)  # fmt: skip
    parsed = tomllib.loads(to_toml(config))
    assert parsed == {k: v for k, v in config.items() if v is not None}
    assert policy_from_dict(parsed["policy_table"]) == policy_from_dict(policy.to_dict())
    assert parsed["policy_table"]["budget"]["utility_calls"] == 6
