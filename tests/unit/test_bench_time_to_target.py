"""The time-to-target benchmark's (`make bench` step 12) own logic: how repeats that never reach
the target enter the medians and ratios, and that Optuna's script asks for the very space Keras
Tuner's build function declares."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bench.__main__ import time_to_target_rows
from tests.bench.time_to_target import OptunaHp


def _runs(*seconds: float | None) -> list[dict[str, Any]]:
    return [
        {
            "seconds_to_target": s,
            "trials": 4,
            "trial_ends": [[2.0, 0.5], [8.0, 0.9]],
            "pruned": 1,
            "failed": 0,
            "rejected": 2,
            "best": 0.9,
        }
        for s in seconds
    ]


def test_a_repeat_that_never_reached_the_target_is_the_slowest() -> None:
    rows = time_to_target_rows(
        {
            "ktrun_median": _runs(10.0, None, 30.0),
            "kt_random": _runs(20.0, 40.0, 60.0),
            "optuna": _runs(None, None, 5.0),
        }
    )
    ktrun, optuna = rows["ktrun_median"], rows["optuna"]
    assert ktrun["median_seconds"] == 30.0 and ktrun["reached"] == 2 and ktrun["max_seconds"] is None
    assert ktrun["ratio_to_kt_random"] == 0.75
    assert ktrun["ratio_to_optuna"] is None  # Optuna's median is "never": no ratio to it
    assert optuna["median_seconds"] is None and optuna["reached"] == 1
    assert ktrun["median_seconds_per_trial"] == 4.0 and ktrun["pruned"] == 3 and ktrun["rejected"] == 6
    assert ktrun["trials_to_target"] == [4, None, 4]


def test_optuna_is_asked_the_space_keras_tuner_declares() -> None:
    optuna = pytest.importorskip("optuna")
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    hp = OptunaHp(trial)
    act = hp.Choice("activation", ["relu", "linear"])
    units = hp.Int("units_1", 16, 128, step=16)
    rate = hp.Float("learning_rate", 1e-3, 1.0, sampling="log")
    assert trial.distributions == {
        "activation": CategoricalDistribution(["relu", "linear"]),
        "units_1": IntDistribution(16, 128, step=16),
        "learning_rate": FloatDistribution(1e-3, 1.0, log=True),
    }
    assert act in ("relu", "linear") and units % 16 == 0 and 1e-3 <= rate <= 1.0
    assert hp.get("units_1") == units
