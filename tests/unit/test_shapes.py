"""Shape inference: plain arithmetic that must agree with Keras itself."""

from __future__ import annotations

import random

import pytest

from ktrun.analysis.shapes import infer
from ktrun.analysis.unroll import unroll
from ktrun.spec.experiment import ExperimentSpec


def model_layers(layers: list[dict[str, object]]) -> list[object]:
    spec = ExperimentSpec.model_validate({"experiment": {"name": "t"}, "model": {"layers": layers}})
    return unroll(spec.model.layers, {})


def test_seed_cnn_kernel_too_large_after_pooling() -> None:
    """Seed 001's CNN on 8x8 digits: kernel 7 leaves 2x2, pooling 1x1, then a 3x3 kernel fails."""
    layers = model_layers(
        [
            {"type": "Conv2D", "filters": 16, "kernel_size": 7},
            {"type": "MaxPooling2D", "pool_size": 2},
            {"type": "Conv2D", "filters": 32, "kernel_size": 3},
            {"type": "Flatten"},
        ]
    )
    trace = infer((8, 8, 1), layers)  # type: ignore[arg-type]
    assert trace.failure is not None and trace.failure.code == "kernel-too-large"
    assert trace.failure.layer.path == ("model", "layers", 2)
    assert trace.describe() == "input (8, 8, 1) → Conv2D (2, 2, 16) → MaxPooling2D (1, 1, 16) → Conv2D ✗"


def test_rank_mismatch_conv_after_flatten() -> None:
    layers = model_layers([{"type": "Flatten"}, {"type": "Conv2D", "filters": 4, "kernel_size": 3}])
    trace = infer((28, 28, 1), layers)  # type: ignore[arg-type]
    assert trace.failure is not None and trace.failure.code == "rank-mismatch"


def test_reshape_and_recurrent() -> None:
    layers = model_layers(
        [
            {"type": "Reshape", "target_shape": [8, -1]},
            {"type": "LSTM", "units": 5, "return_sequences": True},
            {"type": "GRU", "units": 3},
            {"type": "Dense", "units": 2},
        ]
    )
    trace = infer((8, 8, 1), layers)  # type: ignore[arg-type]
    assert trace.failure is None
    assert [s for _, s in trace.steps] == [(8, 8), (8, 5), (3,), (2,)]


def _random_stack(rng: random.Random) -> list[dict[str, object]]:
    layers: list[dict[str, object]] = []
    for _ in range(rng.randint(1, 4)):
        padding = rng.choice(["valid", "same"])
        if rng.random() < 0.6:
            layers.append(
                {
                    "type": "Conv2D",
                    "filters": rng.choice([1, 3]),
                    "kernel_size": rng.choice([1, 2, 3, 5, 7, [2, 5]]),
                    "strides": rng.choice([1, 2, 3]),
                    "padding": padding,
                    "dilation_rate": rng.choice([1, 1, 2]),
                }
            )
        else:
            layers.append(
                {
                    "type": rng.choice(["MaxPooling2D", "AveragePooling2D"]),
                    "pool_size": rng.choice([2, 3, 4]),
                    "padding": padding,
                    "strides": rng.choice([None, 1, 2]),
                }
            )
    layers.append({"type": rng.choice(["Flatten", "GlobalAveragePooling2D"])})
    return layers


@pytest.mark.keras
def test_agrees_with_keras_on_random_stacks() -> None:
    import keras

    rng = random.Random(1234)
    agreed_failures = 0
    for _ in range(60):
        raw = _random_stack(rng)
        size = rng.choice([5, 8, 12, 28])
        trace = infer((size, size, 1), model_layers(raw))  # type: ignore[arg-type]
        try:
            keras_layers = [
                getattr(keras.layers, str(layer["type"]))(
                    **{k: v for k, v in layer.items() if k != "type" and v is not None}
                )
                for layer in raw
            ]
            model = keras.Sequential([keras.Input((size, size, 1)), *keras_layers])
        except ValueError:
            assert trace.failure is not None, (raw, size)
            agreed_failures += 1
            continue
        assert trace.failure is None, (raw, size, trace.describe())
        assert tuple(model.output_shape[1:]) == trace.output, (raw, size)
    assert agreed_failures > 5  # the sample exercises the failure path too


def test_a_same_padded_kernel_decides_no_shape_so_the_walk_does_not_enumerate_it() -> None:
    """`padding: same`: the output is the input over the strides whatever the kernel, so the
    kernel's values are not told apart; a `valid` one's are (it can be too large)."""
    from ktrun.analysis.feasibility import Checker
    from ktrun.analysis.space import build_space
    from ktrun.spec.experiment import ExperimentSpec

    def names(padding: str) -> set[str]:
        spec = ExperimentSpec.model_validate(
            {
                "experiment": {"name": "t"},
                "hyperparameters": {"k": {"type": "choice", "values": [3, 5]}},
                "model": {
                    "layers": [
                        {"type": "Conv2D", "filters": 2, "kernel_size": "$k", "padding": padding},
                        {"type": "Conv2DTranspose", "filters": 1, "kernel_size": "$k", "padding": "same"},
                    ]
                },
            }
        )
        checker = Checker(spec, build_space(spec), [], {"input": (4, 4, 1)})
        trace = checker.shape_trace({})  # no kernel at all: `same` shapes are still known
        assert trace is not None and (trace.output == (4, 4, 1)) == (padding == "same")
        return checker.shape_names

    assert names("same") == set()
    assert names("valid") == {"k"}
