"""Feasible-only sampling on a space where rejection sampling alone would give up.

The 10^12-point benchmark space keeps about 3 points in 10,000; 200 uniform draws usually miss,
and before the tree search the oracle then declared the search "exhausted" before its first
trial. The real Keras Tuner oracle must keep proposing distinct, feasible points.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrun.compiler.plan import compile_plan
from ktrun.pipeline import check_one
from tests.bench import scale

pytestmark = [pytest.mark.keras]


def test_oracle_proposes_distinct_feasible_points_in_a_tiny_fraction(tmp_conf: Path) -> None:
    import keras_tuner as kt

    from ktrun.compiler.keras_model import declare_hyperparameters
    from ktrun.runtime.oracles import make_oracle

    scale.write(tmp_conf)
    report = check_one([f"+experiment={scale.NAME}"], extra=[tmp_conf])
    assert report.checked is not None
    plan = compile_plan(report.checked, state_root=tmp_conf / "state")
    checker = report.checked.checker
    oracle = make_oracle(
        "random",
        checker=checker,
        space=report.checked.space,
        settings=plan.spec.tuner,
        objective=kt.Objective("val_accuracy", "max"),
        max_trials=20,
        hyperparameters=declare_hyperparameters(plan),
        allow_new_entries=False,
        tune_new_entries=False,
        seed=1,
    )
    points = [oracle._random_values() for _ in range(20)]
    # Keras Tuner's floats (0.30000000000000004) stand for the decimals the model is built with
    assert all(p is not None and checker.violations(oracle.ktrun_exact(p)) == [] for p in points)
    assert len({tuple(sorted(p.items())) for p in points if p}) == 20
    assert not oracle.ktrun_exhausted
    assert sum(oracle.ktrun_rejected.values()) > 0  # uniform draws were tried first, and missed
