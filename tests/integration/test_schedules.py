"""Learning-rate schedules as Keras builds them: the schedule object a point names, with the
point's values, and a real (tiny) trial that trains with one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrun.compiler.plan import Plan, compile_plan
from ktrun.pipeline import check_one
from tests.integration.test_search import search, write_experiment

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

CHOSEN = """
hyperparameters:
  schedule: {type: choice, values: [exponential_decay, cosine_decay_restarts, piecewise_constant_decay]}
  lr: {type: float, min: 1.0e-4, max: 1.0e-1, sampling: log}
  decay: {type: float, min: 0.5, max: 0.99}
  steps: {type: int, min: 10, max: 1000}
  rate_1: {type: float, min: 1.0e-3, max: 1.0e-1, sampling: log}
model:
  layers: [{type: Flatten}, {type: Dense, units: 10, activation: softmax}]
  compile:
    optimizer:
      name: sgd
      learning_rate:
        schedule: $schedule
        initial_learning_rate: $lr
        decay_steps: $steps
        first_decay_steps: $steps
        decay_rate: $decay
        staircase: true
        t_mul: 1.5
        m_mul: $decay
        boundaries: [100, 200]
        values: [$rate_1, 0.01, 0.001]
"""


def _plan(conf: Path, body: str) -> Plan:
    write_experiment(conf, "sched", body)
    report = check_one(["+experiment=sched"], extra=[conf])
    assert report.checked is not None and not report.errors, report.problems
    return compile_plan(report.checked, state_root=conf / "state")


POINT = {"lr": 0.05, "decay": 0.9, "steps": 300, "rate_1": 0.02}


def _schedule_of(plan: Plan, point: dict[str, object]) -> object:
    """The optimizer's schedule, as its config carries it (`.learning_rate` is the current value)."""
    import keras

    from ktrun.compiler.keras_model import make_optimizer

    made = make_optimizer(plan, point)  # type: ignore[arg-type]
    return keras.optimizers.schedules.deserialize(made.get_config()["learning_rate"])


def test_the_chosen_schedule_is_built_with_the_point_s_values_and_only_its_arguments(tmp_conf: Path) -> None:
    import keras

    plan = _plan(tmp_conf, CHOSEN)
    schedules = keras.optimizers.schedules
    made = _schedule_of(plan, {**POINT, "schedule": "exponential_decay"})
    assert isinstance(made, schedules.ExponentialDecay)
    config = made.get_config()
    assert config["initial_learning_rate"] == pytest.approx(0.05)
    assert (config["decay_steps"], config["decay_rate"], config["staircase"]) == (300, 0.9, True)

    inactive = {k: v for k, v in POINT.items() if k != "decay"}  # as a `when:` would leave it
    restarts = _schedule_of(plan, {**inactive, "schedule": "cosine_decay_restarts"})
    assert isinstance(restarts, schedules.CosineDecayRestarts)
    config = restarts.get_config()
    assert (config["first_decay_steps"], config["t_mul"]) == (300, 1.5)
    assert config["m_mul"] == 1.0 and config["alpha"] == 0.0  # inactive or unset: Keras' defaults

    piecewise = _schedule_of(plan, {**POINT, "schedule": "piecewise_constant_decay"})
    assert isinstance(piecewise, schedules.PiecewiseConstantDecay)
    assert piecewise.get_config()["boundaries"] == [100, 200]
    assert piecewise.get_config()["values"] == pytest.approx([0.02, 0.01, 0.001])
    assert float(piecewise(150)) == pytest.approx(0.01)


@pytest.mark.slow
def test_a_trial_trains_with_a_tuned_schedule(tmp_path: Path) -> None:
    body = """
hyperparameters:
  lr: {type: float, min: 1.0e-3, max: 1.0e-1, sampling: log}
model:
  layers: [{type: Flatten}, {type: Dense, units: 10, activation: softmax}]
  compile:
    optimizer:
      name: adam
      learning_rate: {schedule: cosine_decay, initial_learning_rate: $lr, decay_steps: 20, warmup_steps: 2,
                      warmup_target: 0.05}
"""
    write_experiment(tmp_path, "sched_trial", body)
    rc, summary, _ = search(tmp_path, "+experiment=sched_trial", "tuner.max_trials=1", extra=[tmp_path])
    assert rc == 0 and summary["status"] == "completed", summary
    assert summary["trials"]["completed"] == 1 and summary["trials"]["failed"] == 0
    assert 1.0e-3 <= summary["best"]["hyperparameters"]["lr"] <= 1.0e-1
