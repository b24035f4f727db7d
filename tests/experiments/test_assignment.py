"""Assignment of users to arms: deterministic, stable across processes, balanced."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from experiments.arms import PRESETS, Arm, Experiment, assign, bucket, parse_arm

IDS = [f"u{i:07d}" for i in range(10_000)]
CHI2_999 = {1: 10.828, 3: 16.266}
"""Chi-square quantiles at 0.999 by degrees of freedom: a fair assignment exceeds them
once in a thousand salts; a biased hash (or a weight applied wrongly) by far."""


def experiment(*weights: float, salt: str = "balance") -> Experiment:
    return Experiment(
        name="x", salt=salt, arms=tuple(Arm(f"a{i}", weight=w) for i, w in enumerate(weights))
    )


def chi_square(e: Experiment) -> float:
    counts = {a.name: 0 for a in e.arms}
    for user in IDS:
        counts[assign(e, user).name] += 1
    total = sum(a.weight for a in e.arms)
    expected = {a.name: len(IDS) * a.weight / total for a in e.arms}
    return sum((counts[k] - expected[k]) ** 2 / expected[k] for k in counts)


@pytest.mark.parametrize("weights", [(1, 1), (1, 1, 2, 4)])
def test_assignment_is_balanced_by_weight_on_10000_ids(weights: tuple[float, ...]) -> None:
    e = experiment(*weights)
    assert chi_square(e) < CHI2_999[len(weights) - 1]


def test_unequal_weights_are_not_read_as_equal() -> None:
    # The same ids against equal shares: 1:1:2:4 must be far off them.
    e = experiment(1, 1, 2, 4)
    equal = experiment(1, 1, 1, 1)
    shares = [sum(assign(e, u).name == f"a{i}" for u in IDS) / len(IDS) for i in range(4)]
    assert shares[3] > 0.45 and shares[0] < 0.15
    assert chi_square(equal) < CHI2_999[3]


def test_same_user_same_arm_in_another_process() -> None:
    e = experiment(1, 1, 1, salt="stable")
    here = [assign(e, u).name for u in IDS[:500]]
    code = (
        "import json; from experiments.arms import Arm, Experiment, assign;"
        "e = Experiment(name='x', salt='stable', arms=tuple(Arm(f'a{i}') for i in range(3)));"
        "print(json.dumps([assign(e, f'u{i:07d}').name for i in range(500)]))"
    )
    # Another interpreter with another string-hash seed: a replica, or a restart.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == here
    assert [assign(e, u).name for u in IDS[:500]] == here  # and again in this one


def test_salts_assign_independently() -> None:
    a, b = experiment(1, 1, salt="one"), experiment(1, 1, salt="two")
    same = sum(assign(a, u).name == assign(b, u).name for u in IDS) / len(IDS)
    assert 0.47 < same < 0.53
    assert 0 <= bucket("one", "u1") < 1


def test_arm_and_experiment_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="fatigue_programs must be a number"):
        parse_arm("strict:fatigue_programs=many")
    with pytest.raises(ValueError, match="unknown key 'fatigue_level'"):
        parse_arm("strict:fatigue_level=2")
    with pytest.raises(ValueError, match="weight must be > 0"):
        Arm("a", weight=0)
    with pytest.raises(ValueError, match="source must be one of"):
        parse_arm("a:source=trending")
    with pytest.raises(ValueError, match="arms must hold at least two"):
        Experiment(name="x", salt="s", arms=(Arm("a"),))
    with pytest.raises(ValueError, match="arm names must be unique"):
        Experiment(name="x", salt="s", arms=(Arm("a"), Arm("a")))
    arm = parse_arm("off:fatigue=off,weight=2")
    assert arm.fatigue_programs == 0 and arm.weight == 2


def test_an_arm_orders_the_home_rail_by_p_complete_or_retrieval() -> None:
    assert parse_arm("lgcn:order=retrieval").overrides() == {"order": "retrieval"}
    with pytest.raises(ValueError) as refused:
        parse_arm("a:order=random")
    assert str(refused.value) == "arm 'a': order must be one of p_complete, retrieval"
    assert [(a.name, a.order) for a in PRESETS["ranker"]()] == [
        ("retrieval", "retrieval"), ("p_complete", "p_complete")]  # fmt: skip
