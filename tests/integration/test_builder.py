"""The Keras side of a plan: what the builder makes from a spec, without training."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrun.compiler.plan import Plan, compile_plan
from ktrun.pipeline import check_one
from ktrun.spec import keras_names as kn
from tests.integration.test_search import write_experiment

pytestmark = [pytest.mark.keras]


def _plan(conf: Path, optimizer: str) -> Plan:
    write_experiment(
        conf,
        "opt",
        f"model:\n  layers: [{{type: Flatten}}, {{type: Dense, units: 10, activation: softmax}}]\n"
        f"  compile: {{optimizer: {optimizer}}}\n",
    )
    report = check_one(["+experiment=opt"], extra=[conf])
    assert report.checked is not None and not report.errors, report.problems
    return compile_plan(report.checked, state_root=conf / "state")


@pytest.mark.parametrize("name", sorted(kn.OPTIMIZER_ARGS))
def test_an_optimizer_named_alone_keeps_every_keras_default(tmp_conf: Path, name: str) -> None:
    """`optimizer: sgd` is Keras' SGD: a learning rate of 0.01, not another optimizer's 0.001."""
    from ktrun.compiler.keras_model import make_optimizer

    made = make_optimizer(_plan(tmp_conf, f"{{name: {name}}}"), {})
    config = {k: v for k, v in made.get_config().items() if k != "name"}
    default = type(made)().get_config()
    assert config == {k: v for k, v in default.items() if k != "name"}
    if name == "sgd":
        assert config["learning_rate"] == pytest.approx(0.01)


def test_a_learning_rate_that_is_set_is_used(tmp_conf: Path) -> None:
    from ktrun.compiler.keras_model import make_optimizer

    made = make_optimizer(_plan(tmp_conf, "{name: sgd, learning_rate: 0.2}"), {})
    assert made.get_config()["learning_rate"] == pytest.approx(0.2)


REGULARIZED = """
hyperparameters:
  l2: {type: float, min: 1.0e-5, max: 1.0e-2, sampling: log}
  blocks: {type: int, min: 1, max: 2}
model:
  layers:
    - {type: Flatten}
    - type: repeat
      times: $blocks
      layers:
        - {type: Dense, units: 8, activation: relu, kernel_regularizer: {l2: $l2}}
    - {type: Dense, units: 10, activation: softmax, bias_regularizer: l1,
       activity_regularizer: {l1: 1.0e-5, l2: 2.0e-5}}
"""


def test_regularizers_are_built_with_each_point_s_strengths(tmp_conf: Path) -> None:
    """`{l2: $l2}` is Keras' L2 at the sampled strength, per repetition; `l1` alone is Keras' own
    L1 at its default 0.01; both strengths make an L1L2."""
    import keras

    from ktrun.compiler.keras_model import build_model

    write_experiment(tmp_conf, "reg", REGULARIZED)
    report = check_one(["+experiment=reg"], extra=[tmp_conf])
    assert report.checked is not None and not report.errors, report.problems
    assert {"l2_1", "l2_2"} <= set(report.checked.space.params)  # one strength per repetition
    plan = compile_plan(report.checked, state_root=tmp_conf / "state")
    model = build_model(plan, {"blocks": 2, "l2_1": 0.001, "l2_2": 0.003})
    _, first, second, out = model.layers[1:]  # after the input layer
    assert isinstance(first.kernel_regularizer, keras.regularizers.L2)
    assert float(first.kernel_regularizer.l2) == pytest.approx(0.001)
    assert float(second.kernel_regularizer.l2) == pytest.approx(0.003)
    assert isinstance(out.bias_regularizer, keras.regularizers.L1)
    assert float(out.bias_regularizer.l1) == pytest.approx(0.01)
    assert isinstance(out.activity_regularizer, keras.regularizers.L1L2)
    activity = out.activity_regularizer
    assert (float(activity.l1), float(activity.l2)) == pytest.approx((1e-5, 2e-5))


def test_stacked_lstms_are_built_as_keras_needs_them(tmp_conf: Path) -> None:
    """`last: {return_sequences: false}`: three LSTMs, the last one returning its final state."""
    from ktrun.compiler.keras_model import build_model
    from tests.unit.test_repeat_positions import STACKED

    write_experiment(tmp_conf, "stacked", STACKED)
    report = check_one(["+experiment=stacked"], extra=[tmp_conf])
    assert report.checked is not None and not report.errors, report.problems
    plan = compile_plan(report.checked, state_root=tmp_conf / "state")
    model = build_model(plan, {"lstm_layers": 3, "units_1": 8, "units_2": 16, "units_3": 8})
    lstms = [layer for layer in model.layers if type(layer).__name__ == "LSTM"]
    assert [layer.return_sequences for layer in lstms] == [True, True, False]
    assert [layer.dropout for layer in lstms] == [0.1, 0.0, 0.0]
    assert tuple(model.output_shape) == (None, 10)


def _checked_plan(conf: Path, body: str) -> Plan:
    write_experiment(conf, "exp", body)
    report = check_one(["+experiment=exp"], extra=[conf])
    assert report.checked is not None and not report.errors, report.problems
    return compile_plan(report.checked, state_root=conf / "state")


TUNED_FOCAL = """
data: {labels: one_hot}
hyperparameters:
  gamma: {type: float, min: 1.0, max: 3.0}
model:
  layers: [{type: Flatten}, {type: Dense, units: 10, activation: softmax}]
  compile:
    loss: {name: categorical_focal_crossentropy, alpha: 0.5, gamma: $gamma}
    metrics: [accuracy]
"""


def test_a_loss_is_its_keras_class_with_the_arguments_set_and_keras_defaults_otherwise(
    tmp_conf: Path,
) -> None:
    """`{name: categorical_focal_crossentropy, alpha: 0.5, gamma: $gamma}` is Keras' class with
    this point's gamma; `from_logits` and `label_smoothing`, unset, keep Keras' defaults."""
    import keras

    from ktrun.compiler.keras_model import make_loss

    plan = _checked_plan(tmp_conf, TUNED_FOCAL)
    made = make_loss(plan, plan.spec.model.compile.loss, {"gamma": 2.5})
    assert isinstance(made, keras.losses.CategoricalFocalCrossentropy)
    config = made.get_config()
    default = keras.losses.CategoricalFocalCrossentropy().get_config()
    assert (config["alpha"], config["gamma"]) == (0.5, 2.5)
    assert {k: config[k] for k in ("from_logits", "label_smoothing", "axis")} == {
        k: default[k] for k in ("from_logits", "label_smoothing", "axis")
    }


def test_a_loss_named_alone_keeps_every_keras_default(tmp_conf: Path) -> None:
    import keras

    from ktrun.compiler.keras_model import make_loss

    plan = _checked_plan(
        tmp_conf,
        "data: {task: regression}\nmodel:\n  layers: [{type: Flatten}, {type: Dense, units: 1}]\n"
        "  compile: {loss: huber, metrics: [mae]}\nobjective: {name: val_mae}\n",
    )
    made = make_loss(plan, plan.spec.model.compile.loss, {})
    assert isinstance(made, keras.losses.Huber)
    assert made.get_config() == keras.losses.Huber().get_config()


def test_wrappers_are_built_around_their_layer_with_each_point_s_values(tmp_conf: Path) -> None:
    """`layer:` is built as the inner Keras layer, with the repetition's instances; `last:` gives
    the last repetition its own."""
    import keras

    from ktrun.compiler.keras_model import build_model
    from tests.unit.test_wrappers import STACKED_BIDIRECTIONAL

    write_experiment(tmp_conf, "wrapped", STACKED_BIDIRECTIONAL)
    report = check_one(["+experiment=wrapped"], extra=[tmp_conf])
    assert report.checked is not None and not report.errors, report.problems
    plan = compile_plan(report.checked, state_root=tmp_conf / "state")
    point = {"layers": 2, "units_1": 4, "units_2": 8, "merge_1": "concat", "merge_2": "sum"}
    model = build_model(plan, point)
    first, second = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert isinstance(first.forward_layer, keras.layers.LSTM) and first.forward_layer.units == 4
    assert first.forward_layer.dropout == pytest.approx(0.1) and first.merge_mode == "concat"
    assert isinstance(second.forward_layer, keras.layers.GRU) and second.forward_layer.units == 8
    assert second.merge_mode == "sum" and not second.forward_layer.return_sequences
    assert tuple(model.output_shape) == (None, 10)
    (td,) = [layer for layer in model.layers if isinstance(layer, keras.layers.TimeDistributed)]
    assert isinstance(td.layer, keras.layers.Dense) and td.layer.units == 3


WEIGHTS = """
hyperparameters:
  stddev: {type: float, min: 0.01, max: 0.1, sampling: log}
  norm: {type: float, min: 1.0, max: 4.0}
  blocks: {type: int, min: 1, max: 2}
model:
  layers:
    - {type: Flatten}
    - type: repeat
      times: $blocks
      layers:
        - {type: Dense, units: 8, activation: relu,
           kernel_initializer: {name: random_normal, stddev: $stddev},
           kernel_constraint: {name: max_norm, max_value: $norm, axis: 0}, bias_constraint: non_neg}
    - {type: Dense, units: 10, activation: softmax, kernel_initializer: he_normal,
       bias_initializer: {name: random_uniform, minval: -0.1, maxval: 0.1}}
"""


def test_initializers_and_constraints_are_built_with_each_point_s_arguments(tmp_conf: Path) -> None:
    """`{name: random_normal, stddev: $stddev}` is Keras' RandomNormal at this repetition's value;
    a name alone (`he_normal`, `non_neg`) is Keras' own object by that name, as before."""
    import keras

    from ktrun.compiler.keras_model import build_model

    write_experiment(tmp_conf, "weights", WEIGHTS)
    report = check_one(["+experiment=weights"], extra=[tmp_conf])
    assert report.checked is not None and not report.errors, report.problems
    assert {"stddev_1", "stddev_2", "norm_1", "norm_2"} <= set(report.checked.space.params)
    plan = compile_plan(report.checked, state_root=tmp_conf / "state")
    point = {"blocks": 2, "stddev_1": 0.02, "stddev_2": 0.05, "norm_1": 2.0, "norm_2": 3.0}
    _, first, second, out = build_model(plan, point).layers[1:]  # after the input layer
    assert isinstance(first.kernel_initializer, keras.initializers.RandomNormal)
    assert first.kernel_initializer.stddev == pytest.approx(0.02)
    assert second.kernel_initializer.stddev == pytest.approx(0.05)
    assert isinstance(second.kernel_constraint, keras.constraints.MaxNorm)
    assert second.kernel_constraint.get_config() == {"max_value": 3.0, "axis": 0}
    assert isinstance(first.bias_constraint, keras.constraints.NonNeg)
    assert isinstance(out.kernel_initializer, keras.initializers.HeNormal)
    assert isinstance(out.bias_initializer, keras.initializers.RandomUniform)
    assert (out.bias_initializer.minval, out.bias_initializer.maxval) == (-0.1, 0.1)


PER_OPTIMIZER = """
hyperparameters:
  opt: {type: choice, values: [sgd, rmsprop, adam]}
  momentum: {type: choice, values: [0.0, 0.9], when: {opt: [sgd, rmsprop]}}
model:
  layers: [{type: Flatten}, {type: Dense, units: 10, activation: softmax}]
  compile:
    optimizer:
      name: $opt
      learning_rate: 0.05
      per_optimizer: {rmsprop: {momentum: $momentum, learning_rate: 0.02}}
"""


@pytest.mark.parametrize(
    ("point", "cls", "momentum", "rate"),
    [
        ({"opt": "rmsprop", "momentum": 0.9}, "RMSprop", 0.9, 0.02),
        ({"opt": "sgd", "momentum": 0.9}, "SGD", 0.0, 0.05),  # declared for sgd, passed to rmsprop only
        ({"opt": "adam"}, "Adam", None, 0.05),
    ],
)
def test_per_optimizer_arguments_reach_that_optimizer_only(
    tmp_conf: Path, point: dict[str, str | float], cls: str, momentum: float | None, rate: float
) -> None:
    """The compiled model's optimizer: the chosen one's own arguments over the common ones."""
    from ktrun.compiler.keras_model import build_model

    write_experiment(tmp_conf, "per", PER_OPTIMIZER)
    report = check_one(["+experiment=per"], extra=[tmp_conf])
    assert report.checked is not None and not report.errors, report.problems
    model = build_model(compile_plan(report.checked, state_root=tmp_conf / "state"), point)
    config = model.optimizer.get_config()
    assert type(model.optimizer).__name__ == cls
    assert config.get("momentum") == (pytest.approx(momentum) if momentum is not None else None)
    assert config["learning_rate"] == pytest.approx(rate)
