"""Separable, depthwise and transposed convolutions: their shape rules and what the checks say
(Keras' own formulas are compared with Keras in tests/contracts/test_keras_tables.py)."""

from __future__ import annotations

from pathlib import Path

from ktrun.analysis.shapes import ShapeTrace, infer
from ktrun.analysis.unroll import unroll
from ktrun.pipeline import check_one
from ktrun.spec.experiment import ExperimentSpec
from tests.integration.test_search import write_experiment


def _trace(layer: dict[str, object], shape: tuple[int, ...]) -> ShapeTrace:
    spec = ExperimentSpec.model_validate({"experiment": {"name": "t"}, "model": {"layers": [layer]}})
    return infer(shape, unroll(spec.model.layers, {}))


def test_depthwise_multiplies_the_channels_and_separable_sets_them() -> None:
    depthwise = {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 3}
    assert _trace(depthwise, (8, 8, 2)).output == (6, 6, 6)
    separable = {"type": "SeparableConv1D", "filters": 5, "kernel_size": 3, "strides": 2, "dilation_rate": 2}
    assert _trace(separable, (20, 2)).output == (8, 5)  # strides and dilation together: Keras takes it


def test_transposed_convolutions_grow_the_map() -> None:
    layer = {"type": "Conv2DTranspose", "filters": 4, "kernel_size": 3, "strides": 2}
    assert _trace(layer, (4, 4, 1)).output == (9, 9, 4)
    assert _trace({**layer, "padding": "same"}, (4, 4, 1)).output == (8, 8, 4)
    too_much = _trace({**layer, "output_padding": 2}, (4, 4, 1)).failure
    assert too_much is not None and too_much.code == "output-padding-too-large"
    assert too_much.path == ("model", "layers", 0, "output_padding")


TUNED_SEPARABLE = """
hyperparameters:
  kernel: {type: choice, values: [3, 9]}
model:
  layers:
    - {type: SeparableConv2D, filters: 8, kernel_size: $kernel}
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
"""


def test_a_separable_kernel_that_cannot_fit_names_its_hyperparameter(tmp_conf: Path) -> None:
    write_experiment(tmp_conf, "separable", TUNED_SEPARABLE)
    report = check_one(["+experiment=separable"], extra=[tmp_conf])
    (kernel,) = [p for p in report.problems if p.code == "kernel-too-large"]
    assert kernel.path == ("model", "layers", 0, "kernel_size")
    assert kernel.hint.startswith("constrain the kernel (e.g. `kernel <= 8`)"), kernel.hint
