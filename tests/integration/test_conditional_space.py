"""Conditional spaces as Keras Tuner registers them: what `ktrun check` accepts must register, and
Keras Tuner must call active exactly what ktrun's analysis calls active.

Two bugs seen on published searches: a `repeat` under `when:` whose count is itself conditional
(or a per-repetition value used under a `when:` inside a repeat) died at search start with
"HyperParameter named: ... not defined"; and a hyperparameter used only in a layer's `when:`
inside a repeat was not tied to the repeat count (`pooling_2` searched when `conv_layers=1`).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ktrun.compiler.plan import compile_plan
from ktrun.pipeline import check_one
from tests.integration.test_search import search, write_experiment

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

#: keras-io's "model selection" pattern: a conditional repeat count under a conditional block.
MODEL_SELECTION = """
hyperparameters:
  model_type: {type: choice, values: [mlp, wide]}
  mlp_layers: {type: int, min: 1, max: 3}
  units: {type: choice, values: [8, 16]}
  wide_units: {type: choice, values: [32, 64]}
model:
  layers:
    - {type: Flatten}
    - type: repeat
      times: $mlp_layers
      when: {model_type: mlp}
      layers:
        - {type: Dense, units: $units, activation: relu}
    - {type: Dense, units: $wide_units, activation: relu, when: {model_type: wide}}
    - {type: Dense, units: 10, activation: softmax}
"""

#: keras-tuner's CIFAR-10 blog search: a pooling choice per block, used only in `when:`.
POOLING_PER_BLOCK = """
hyperparameters:
  conv_layers: {type: int, min: 1, max: 3}
  pooling: {type: choice, values: [max, avg]}
  dropout: {type: boolean}
  rate: {type: choice, values: [0.1, 0.3]}
model:
  input_shape: [8, 8, 1]
  layers:
    - type: repeat
      times: $conv_layers
      layers:
        - {type: Conv2D, filters: 4, kernel_size: 3, padding: same, activation: relu}
        - {type: MaxPooling2D, pool_size: 1, when: {pooling: max}}
        - {type: AveragePooling2D, pool_size: 1, when: {pooling: avg}}
        - {type: Dropout, rate: $rate, when: {dropout: true}}
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
"""

#: A parent with conditions of its own, used under a `when:` that does not repeat them.
INDEPENDENT_PARENTS = """
hyperparameters:
  optimizer: {type: choice, values: [adam, sgd]}
  momentum: {type: choice, values: [0.0, 0.9], when: {optimizer: sgd}}
  extra: {type: boolean}
  units: {type: choice, values: [8, 16]}
model:
  compile: {optimizer: {name: $optimizer, momentum: $momentum}}
  layers:
    - {type: Flatten}
    - {type: Dense, units: $units, activation: relu, when: {extra: true, momentum: 0.9}}
    - {type: Dense, units: 10, activation: softmax}
"""


@pytest.mark.parametrize(
    ("body", "dead"),
    [
        (MODEL_SELECTION, {"mlp_layers", "units_1"}),  # inactive unless model_type is mlp
        (POOLING_PER_BLOCK, {"pooling_2", "pooling_3", "dropout_3", "rate_3"}),
        (INDEPENDENT_PARENTS, {"momentum", "units"}),
    ],
    ids=["model-selection", "pooling-per-block", "independent-parents"],
)
def test_keras_tuner_registers_the_space_and_agrees_on_what_is_active(
    tmp_conf: Path, body: str, dead: set[str]
) -> None:
    import keras_tuner as kt

    from ktrun.compiler.keras_model import active_values, declare_hyperparameters

    write_experiment(tmp_conf, "cond", body)
    report = check_one(["+experiment=cond"], extra=[tmp_conf])
    assert report.checked is not None and not report.errors, report.problems
    space = report.checked.space
    assert dead <= set(space.params)
    hp = declare_hyperparameters(compile_plan(report.checked, state_root=tmp_conf / "state"))
    rng = random.Random(0)
    seen_inactive: set[str] = set()
    for _ in range(60):
        point = space.sample(rng)
        hp.values.update(point)
        for name in space.params:
            if name not in point:
                hp.values.pop(name, None)
        assert active_values(hp) == point  # Keras Tuner and ktrun agree, value for value
        seen_inactive |= set(space.params) - set(point)
    assert dead <= seen_inactive
    oracle = kt.oracles.RandomSearchOracle(hyperparameters=hp, seed=1, max_trials=5)
    assert oracle.hyperparameters.space  # Keras Tuner's own sampler takes it as it is


def test_a_pooling_choice_used_only_under_when_follows_the_repeat_count(tmp_conf: Path) -> None:
    write_experiment(tmp_conf, "cond", POOLING_PER_BLOCK)
    report = check_one(["+experiment=cond"], extra=[tmp_conf])
    assert report.checked is not None
    space = report.checked.space
    assert not space.is_active("pooling_2", {"conv_layers": 1})
    assert space.is_active("pooling_2", {"conv_layers": 2})


@pytest.mark.slow
def test_a_conditional_repeat_count_searches_without_crashing(tmp_path: Path) -> None:
    write_experiment(tmp_path, "cond", MODEL_SELECTION)
    rc, summary, _ = search(tmp_path, "+experiment=cond", "tuner.max_trials=3", extra=[tmp_path])
    assert rc == 0 and summary["status"] == "completed", summary
    assert summary["trials"]["completed"] == 3 and summary["trials"]["failed"] == 0
