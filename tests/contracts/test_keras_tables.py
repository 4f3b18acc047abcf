"""ktrun's TF-free name tables, checked against the installed Keras (real Keras, no mocks)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.analysis.shapes import infer
from ktrun.analysis.size import count_params
from ktrun.analysis.unroll import unroll
from ktrun.layers import LAYER_TYPES, REGISTRY
from ktrun.layers.applications import APPLICATIONS, IMAGENET_FILES, keras_models_dir
from ktrun.spec import keras_names as kn
from ktrun.spec.domains import LOSS_ARGS, SCHEDULE_ARGS
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.hypermodels import HYPERMODELS

pytestmark = pytest.mark.keras


def test_activations_exist() -> None:
    import keras

    for name in kn.ACTIVATIONS:
        assert callable(keras.activations.get(name)), name


def test_initializers_build_dense_and_conv_kernels() -> None:
    import keras

    for name in kn.INITIALIZERS:
        keras.layers.Dense(2, kernel_initializer=name).build((None, 3))
        keras.layers.Conv2D(2, 3, kernel_initializer=name).build((None, 5, 5, 1))


def test_initializer_and_constraint_arguments_are_keras_own() -> None:
    """Each name with the arguments ktrun lets you set, as the builder passes them (`class_name`
    and `config`): Keras makes that object and keeps each argument."""
    import keras

    from ktrun.layers.base import ConstraintSpec, InitializerSpec

    assert set(kn.INITIALIZER_ARGS) == set(InitializerSpec.DOMAINS["name"].names or ())
    tables = [
        (kn.INITIALIZER_ARGS, keras.initializers.get, InitializerSpec),
        (kn.CONSTRAINT_ARGS, keras.constraints.get, ConstraintSpec),
    ]
    for table, get, section in tables:
        assert set().union(*table.values()) == set(section.model_fields) - {"name"}, section
        for name, args in table.items():
            made = get({"class_name": name, "config": {}})
            assert made is not None and get(name) is not None, name
            assert args <= set(made.get_config()), (name, args - set(made.get_config()))
    for mode in kn.VARIANCE_SCALING_MODES:
        for distribution in kn.VARIANCE_SCALING_DISTRIBUTIONS:
            keras.initializers.VarianceScaling(mode=mode, distribution=distribution)
    keras.layers.Dense(
        2,
        kernel_initializer={"class_name": "variance_scaling", "config": {"mode": "fan_out"}},
        kernel_constraint={"class_name": "min_max_norm", "config": {"rate": 0.5, "axis": 0}},
    ).build((None, 3))


#: Keras loss classes ktrun leaves out, and why (every other one must be in `LOSS_CLASSES`).
LOSSES_LEFT_OUT = {
    "Loss": "the base class",
    "CTC": "sequence labels, not one label per sample",
    "Circle": "embedding pairs, not a classifier or regressor output",
}


def test_every_keras_loss_is_in_the_tables_with_exactly_its_arguments() -> None:
    """Each loss ktrun names is a Keras class that takes exactly the arguments `LOSS_ARGS` lets
    you set (besides `reduction`, `name`, `dtype`); each Keras loss class is there or left out
    on purpose."""
    import inspect

    import keras

    assert set(kn.LOSSES) == set(kn.LOSS_CLASSES) == set(kn.LOSS_ARGS)
    classes = {
        n for n, c in vars(keras.losses).items() if inspect.isclass(c) and issubclass(c, keras.losses.Loss)
    }
    assert classes == set(kn.LOSS_CLASSES.values()) | set(LOSSES_LEFT_OUT)
    for name, cls_name in kn.LOSS_CLASSES.items():
        cls = getattr(keras.losses, cls_name)
        params = set(inspect.signature(cls.__init__).parameters) - {"self", "reduction", "name", "dtype"}
        assert params == kn.LOSS_ARGS[name], name
        assert set(kn.LOSS_ARGS[name]) <= set(LOSS_ARGS), name  # each argument has a domain
        assert name in kn.LOGIT_LOSSES or "from_logits" not in params, name
    for name in kn.LOSSES:
        if name != "categorical_generalized_cross_entropy":  # a class only, no function name
            assert keras.losses.get(name) is not None, name


def test_every_keras_schedule_is_in_the_tables_with_exactly_its_arguments() -> None:
    """Each schedule ktrun names is a class under `keras.optimizers.schedules` that takes exactly
    the arguments `SCHEDULE_ARGS` lets you set (besides `name`), those without a default are
    `SCHEDULE_REQUIRED`, each has a domain and a key in the schedule section; every Keras
    schedule class but the base class is there."""
    import inspect

    import keras

    from ktrun.spec.experiment import ScheduleSpec

    schedules = keras.optimizers.schedules
    assert set(kn.SCHEDULES) == set(kn.SCHEDULE_CLASSES) == set(kn.SCHEDULE_ARGS) == set(kn.SCHEDULE_REQUIRED)
    classes = {n for n, c in vars(schedules).items() if inspect.isclass(c)} - {"LearningRateSchedule"}
    assert classes == set(kn.SCHEDULE_CLASSES.values())
    for name, cls_name in kn.SCHEDULE_CLASSES.items():
        params = dict(inspect.signature(getattr(schedules, cls_name).__init__).parameters)
        del params["self"], params["name"]
        assert set(params) == kn.SCHEDULE_ARGS[name], name
        required = {p for p, v in params.items() if v.default is inspect.Parameter.empty}
        assert required == kn.SCHEDULE_REQUIRED[name], name
    every = set().union(*kn.SCHEDULE_ARGS.values())
    assert every | {"schedule"} == set(SCHEDULE_ARGS) == set(ScheduleSpec.model_fields)
    assert set(SCHEDULE_ARGS["schedule"].names or ()) == set(kn.SCHEDULES)


def test_losses_and_optimizers_exist() -> None:
    import keras

    assert set(kn.OPTIMIZER_ARGS) == set(kn.OPTIMIZER_CLASSES)
    for name in kn.OPTIMIZERS:
        opt = getattr(keras.optimizers, kn.OPTIMIZER_CLASSES[name])()
        for arg in kn.OPTIMIZER_ARGS[name] | kn.COMMON_OPTIMIZER_ARGS:
            assert arg in opt.get_config(), (name, arg)


def test_layer_allowlist_exists_in_keras() -> None:
    import keras

    for name in LAYER_TYPES:
        if REGISTRY[name].keras_class is not None:
            assert hasattr(keras.layers, str(REGISTRY[name].keras_class)), name
    for app in APPLICATIONS:
        assert callable(getattr(keras.applications, app)), app


#: One example per Keras layer type: (per-sample input shape, arguments). A new type needs one.
EXAMPLES: dict[str, tuple[tuple[int, ...], dict[str, object]]] = {
    "Dense": ((4,), {"units": 3}),
    "Dropout": ((4,), {"rate": 0.5}),
    "Flatten": ((2, 3, 1), {}),
    "Reshape": ((6,), {"target_shape": [2, -1]}),
    "BatchNormalization": ((4, 3), {}),
    "LayerNormalization": ((4, 3), {}),
    "Activation": ((4,), {"activation": "relu"}),
    "Conv1D": ((10, 2), {"filters": 3, "kernel_size": 3, "strides": 2}),
    "Conv2D": ((9, 9, 1), {"filters": 2, "kernel_size": [3, 2], "padding": "same", "strides": 2}),
    "SeparableConv1D": ((10, 2), {"filters": 3, "kernel_size": 3, "depth_multiplier": 2, "strides": 2}),
    "SeparableConv2D": ((9, 9, 2), {"filters": 3, "kernel_size": [3, 2], "strides": 2, "dilation_rate": 2}),
    "DepthwiseConv1D": ((10, 2), {"kernel_size": 3, "depth_multiplier": 3, "padding": "same", "strides": 2}),
    "DepthwiseConv2D": ((9, 9, 2), {"kernel_size": 3, "depth_multiplier": 2}),
    "Conv1DTranspose": ((5, 2), {"filters": 3, "kernel_size": 3, "strides": 2}),
    "Conv2DTranspose": (
        (4, 5, 1),
        {"filters": 2, "kernel_size": [3, 4], "strides": [2, 3], "padding": "same", "output_padding": [1, 2]},
    ),
    "MaxPooling1D": ((10, 2), {"pool_size": 3}),
    "MaxPooling2D": ((9, 9, 1), {"pool_size": 2, "strides": 1}),
    "AveragePooling1D": ((10, 2), {"pool_size": 2, "padding": "same"}),
    "AveragePooling2D": ((9, 9, 1), {}),
    "GlobalAveragePooling1D": ((10, 2), {}),
    "GlobalAveragePooling2D": ((9, 9, 1), {}),
    "GlobalMaxPooling1D": ((10, 2), {}),
    "GlobalMaxPooling2D": ((9, 9, 1), {}),
    "Embedding": ((5,), {"input_dim": 10, "output_dim": 4}),
    "LSTM": ((5, 3), {"units": 2, "return_sequences": True}),
    "GRU": ((5, 3), {"units": 2}),
    "SimpleRNN": ((5, 3), {"units": 2, "return_sequences": True}),
    "Bidirectional": ((5, 3), {"layer": {"type": "LSTM", "units": 2, "return_sequences": True}}),
    "TimeDistributed": ((4, 6, 6, 1), {"layer": {"type": "Conv2D", "filters": 2, "kernel_size": 3}}),
    "ReLU": ((4,), {"max_value": 6.0}),
    "LeakyReLU": ((4,), {"negative_slope": 0.1}),
    "PReLU": ((4,), {}),
    "ELU": ((4,), {"alpha": 0.5}),
    "Softmax": ((4,), {}),
    "SpatialDropout1D": ((10, 2), {"rate": 0.2}),
    "SpatialDropout2D": ((9, 9, 2), {"rate": 0.2}),
    "GaussianNoise": ((4,), {"stddev": 0.1}),
    "GaussianDropout": ((4,), {"rate": 0.1}),
    "UpSampling1D": ((5, 2), {"size": 3}),
    "UpSampling2D": ((4, 5, 1), {"size": [2, 3]}),
    "ZeroPadding1D": ((5, 2), {"padding": 2}),
    "ZeroPadding2D": ((4, 5, 1), {"padding": [1, 2]}),
    "Cropping1D": ((9, 2), {"cropping": 2}),
    "Cropping2D": ((9, 8, 1), {"cropping": [1, 3]}),
    "Rescaling": ((4, 4, 3), {"scale": 0.00392}),
    "Normalization": ((5, 3), {"axis": [1, 2]}),
    "TextVectorization": ((1,), {"max_tokens": 50, "output_sequence_length": 7, "ngrams": 2}),
    "CategoryEncoding": ((1,), {"num_tokens": 6, "output_mode": "one_hot"}),
    "Resizing": ((9, 9, 3), {"height": 4, "width": 6}),
    "CenterCrop": ((9, 9, 3), {"height": 4, "width": 6}),
    "RandomFlip": ((8, 8, 3), {"mode": "horizontal"}),
    "RandomRotation": ((8, 8, 3), {"factor": 0.1}),
    "RandomZoom": ((8, 8, 3), {"height_factor": 0.2}),
    "RandomTranslation": ((8, 8, 3), {"height_factor": 0.1, "width_factor": 0.1}),
    "RandomContrast": ((8, 8, 3), {"factor": 0.2}),
    "RandomBrightness": ((8, 8, 3), {"factor": [-0.2, 0.1], "value_range": [0.0, 1.0]}),
    "RandomCrop": ((9, 9, 3), {"height": 4, "width": 6}),
    "RandomGrayscale": ((8, 8, 3), {"factor": 0.3}),
    "Backbone": ((40, 33, 3), {"application": "MobileNetV2", "alpha": 0.35}),
}

#: Layers that read strings (a csv text column) or ids (a categorical one), not floats.
INPUT_DTYPES = {"TextVectorization": "string", "CategoryEncoding": "int64"}


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((), "one_hot"), ((1,), "one_hot"), ((3,), "one_hot"), ((1,), "multi_hot"), ((3,), "count")],
)
def test_category_encoding_shapes_agree_with_keras(shape: tuple[int, ...], mode: str) -> None:
    import keras

    from ktrun.compiler.keras_model import make_layer

    spec = ExperimentSpec.model_validate(
        {
            "experiment": {"name": "t"},
            "model": {"layers": [{"type": "CategoryEncoding", "num_tokens": 5, "output_mode": mode}]},
        }
    )
    (layer,) = unroll(spec.model.layers, {})
    model = keras.Sequential([keras.Input(shape, dtype="int64"), make_layer(None, layer, shape)])
    trace = infer(shape, [layer])
    assert trace.failure is None
    assert tuple(model.output_shape[1:]) == trace.output


@pytest.mark.parametrize(
    ("shape", "args"),
    [
        ((), {"output_sequence_length": 4}),
        ((1,), {}),
        ((), {"max_tokens": 9, "output_mode": "multi_hot", "pad_to_max_tokens": True}),
        ((1,), {"max_tokens": 9, "output_mode": "tf_idf", "pad_to_max_tokens": True}),
        ((1,), {"max_tokens": 9, "output_mode": "count", "pad_to_max_tokens": True, "split": "character"}),
        ((1,), {"standardize": "none", "split": "none", "output_sequence_length": 3}),
    ],
)
def test_text_vectorization_shapes_agree_with_keras(shape: tuple[int, ...], args: dict[str, object]) -> None:
    """Each output mode on both ways of holding one string per sample, and `none` as Keras' None."""
    import keras

    from ktrun.compiler.keras_model import make_layer

    spec = ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "model": {"layers": [{"type": "TextVectorization", **args}]}}
    )
    (layer,) = unroll(spec.model.layers, {})
    built = make_layer(None, layer, shape)
    model = keras.Sequential([keras.Input(shape, dtype="string"), built])
    trace = infer(shape, [layer])
    assert trace.failure is None
    assert tuple(model.output_shape[1:]) == trace.output
    assert count_params(trace).total == model.count_params() == 0
    if args.get("standardize") == "none":
        assert built.get_config()["standardize"] is None and built.get_config()["split"] is None


#: Layers that read several inputs: (per-sample input shapes, arguments). One input is self-attention.
MERGE_EXAMPLES: dict[str, tuple[tuple[tuple[int, ...], ...], dict[str, object]]] = {
    "Add": (((4, 3), (4, 3), (1, 3)), {}),
    "Subtract": (((4,), (4,)), {}),
    "Multiply": (((4, 1), (4, 3)), {}),
    "Average": (((2, 2, 3), (2, 2, 3)), {}),
    "Maximum": (((5,), (5,)), {}),
    "Minimum": (((5,), (5,)), {}),
    "Concatenate": (((4, 3), (4, 5)), {}),
    "MultiHeadAttention": (((6, 4), (5, 3)), {"num_heads": 2, "key_dim": 3}),
    "Attention": (((6, 4), (5, 4), (5, 4)), {}),
    "AdditiveAttention": (((6, 4),), {"use_scale": True}),
}


def test_each_merge_layer_builds_and_its_shape_rule_agrees_with_keras() -> None:
    """Layers that read several inputs, in a functional graph as the builder calls them."""
    import keras

    from ktrun.compiler.keras_model import build_layer, call_layer

    for name, (shapes, args) in MERGE_EXAMPLES.items():
        names = [f"in{i}" for i in range(len(shapes))]
        spec = ExperimentSpec.model_validate(
            {"experiment": {"name": "t"}, "model": {"layers": [{"type": name, "inputs": names, **args}]}}
        )
        (layer,) = unroll(spec.model.layers, {}, inputs=names)
        inputs = [keras.Input(s) for s in shapes]
        built = build_layer(layer)
        out = call_layer(layer, built, inputs)
        trace = infer(shapes[0], [layer], dict(zip(names, shapes, strict=True)))
        assert trace.failure is None, name
        assert tuple(out.shape[1:]) == trace.output, name
        assert count_params(trace).total == keras.Model(inputs, out).count_params(), name


def test_each_layer_type_builds_and_its_shape_rule_agrees_with_keras() -> None:
    """Construction and shape rule of every registered Keras type, against Keras itself."""
    import keras

    from ktrun.compiler.keras_model import make_layer

    assert set(EXAMPLES) | set(MERGE_EXAMPLES) == set(LAYER_TYPES), (
        "give each registered layer type an example"
    )
    for name, (shape, args) in EXAMPLES.items():
        spec = ExperimentSpec.model_validate(
            {"experiment": {"name": "t"}, "model": {"layers": [{"type": name, **args}]}}
        )
        (layer,) = unroll(spec.model.layers, {})
        built = make_layer(None, layer, shape)  # no plan: Keras' own layers
        dtype = INPUT_DTYPES.get(name)
        model = keras.Sequential([keras.Input(shape, dtype=dtype), built])
        trace = infer(shape, [layer])
        assert trace.failure is None, name
        assert tuple(model.output_shape[1:]) == trace.output, name
        counted = count_params(trace)
        if counted.exact:  # what ktrun counts statically is what Keras holds
            assert counted.total == model.count_params(), name
        else:
            assert name in ("Backbone", "custom"), f"{name} must count its weights"


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_merge_modes_agree_with_keras(merge_mode: str) -> None:
    """Only concat doubles the width; the wrapped GRU keeps (or drops) the time axis."""
    import keras

    from ktrun.compiler.keras_model import build_layer

    for sequences in (True, False):
        inner = {"type": "GRU", "units": 3, "return_sequences": sequences}
        layers = [{"type": "Bidirectional", "layer": inner, "merge_mode": merge_mode}]
        spec = ExperimentSpec.model_validate({"experiment": {"name": "t"}, "model": {"layers": layers}})
        (layer,) = unroll(spec.model.layers, {})
        model = keras.Sequential([keras.Input((5, 2)), build_layer(layer)])
        assert tuple(model.output_shape[1:]) == infer((5, 2), [layer]).output


def test_transposed_convolutions_grow_the_map_as_keras_computes() -> None:
    """Every kernel, stride, dilation, padding and output_padding of a small grid, against Keras'
    own `compute_output_shape` (output_padding must stay below the strides: Keras refuses more)."""
    import itertools

    from ktrun.compiler.keras_model import build_layer

    grid = itertools.product([1, 2, 4], [1, 2, 3], [1, 2], ["valid", "same"], [None, 0, 1, 2])
    for k, s, d, padding, extra in grid:
        if (s > 1 and d > 1) or (extra is not None and extra >= s):
            continue
        args = {"filters": 2, "kernel_size": k, "strides": s, "dilation_rate": d, "padding": padding}
        if extra is not None:
            args["output_padding"] = extra
        spec = ExperimentSpec.model_validate(
            {"experiment": {"name": "t"}, "model": {"layers": [{"type": "Conv1DTranspose", **args}]}}
        )
        (layer,) = unroll(spec.model.layers, {})
        keras_shape = build_layer(layer).compute_output_shape((None, 5, 3))
        assert tuple(keras_shape[1:]) == infer((5, 3), [layer]).output, args


def _backbone(shape: tuple[int, ...], application: str, **args: object) -> tuple[object, object]:
    """ktrun's shape for a Backbone on `shape`, and what Keras builds (or the error it raises)."""
    from ktrun.compiler.keras_model import make_layer

    spec = ExperimentSpec.model_validate(
        {
            "experiment": {"name": "t"},
            "model": {"layers": [{"type": "Backbone", "application": application, **args}]},
        }
    )
    (layer,) = unroll(spec.model.layers, {})
    trace = infer(shape, [layer])
    ours = trace.failure.code if trace.failure is not None else trace.output
    try:
        built = make_layer(None, layer, shape)
    except ValueError as e:
        return ours, f"refused: {e}"
    return ours, (tuple(built.output_shape[1:]), len(built.layers))


#: Sizes either side of each family's minimum, and sizes where floor and ceil differ.
_FAMILIES = {
    "VGG16": (31, 32, 63, 97),
    "ResNet50": (31, 32, 33, 97),
    "MobileNet": (32, 65),
    "MobileNetV2": (31, 33, 97),
    "MobileNetV3Small": (32, 65),
    "DenseNet121": (32, 70),
    "EfficientNetV2B0": (33,),
    "ConvNeXtTiny": (32, 70),
    "Xception": (70, 71, 90),
    "InceptionV3": (74, 75, 90),
}


def test_backbone_table_agrees_with_keras_applications_on_a_few_sizes() -> None:
    """One network per family, at sizes around its minimum (refused exactly where Keras refuses)
    and at sizes that tell its rounding apart, non-square: ktrun's rule gives Keras' shape."""
    for app, sides in _FAMILIES.items():
        for side in sides:
            shape = (side, side + 3, 3)
            ours, keras_built = _backbone(shape, app)
            if isinstance(keras_built, str):
                assert ours == "input-too-small", (app, shape, keras_built)
            else:
                assert ours == keras_built[0], (app, shape)
                assert keras_built[1] == APPLICATIONS[app].layers, app


@pytest.mark.slow
@pytest.mark.heavy
def test_mobilenet_width_multipliers_agree_with_keras() -> None:
    for app in ("MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large"):
        for alpha in (0.25, 0.35, 0.75, 1.3):
            ours, keras_built = _backbone((32, 32, 3), app, alpha=alpha, pooling="avg")
            assert not isinstance(keras_built, str), (app, alpha, keras_built)
            assert ours == keras_built[0], (app, alpha)


@pytest.mark.slow
@pytest.mark.heavy
def test_every_backbone_application_builds_as_the_table_says() -> None:
    """Every application of the table at its minimum size: its shape and its layer count."""
    for app, entry in APPLICATIONS.items():
        shape = (entry.min_size, entry.min_size + 5, 3)
        ours, keras_built = _backbone(shape, app)
        assert not isinstance(keras_built, str), (app, keras_built)
        assert ours == keras_built[0], app
        assert keras_built[1] == entry.layers, (app, keras_built[1])


def test_padding_table_matches_conv_layers() -> None:
    import keras

    for padding in kn.PADDINGS:
        keras.layers.Conv2D(2, 3, padding=padding)
    keras.layers.Conv1D(2, 3, padding="causal")
    assert REGISTRY["Conv2D"].domains["padding"].names == kn.PADDINGS
    assert REGISTRY["Conv1D"].domains["padding"].names == kn.CONV1D_PADDINGS


def _label_kinds() -> dict[str, tuple[object, int, str, str]]:
    """Label kind → (labels for 24 samples, output units, activation, loss)."""
    rng = np.random.default_rng(0)
    return {
        "sparse": (rng.integers(0, 3, 24), 3, "softmax", "sparse_categorical_crossentropy"),
        "one_hot": (np.eye(3)[rng.integers(0, 3, 24)], 3, "softmax", "categorical_crossentropy"),
        "binary": (rng.integers(0, 2, (24, 1)).astype("float32"), 1, "sigmoid", "binary_crossentropy"),
    }


def _fit_logs(kind: str, entries: list[object]) -> tuple[list[str], list[str], list[Any]]:
    """Compile `entries` as the builder does (`make_metric`), fit one epoch: (logged keys, keys
    `logged_metrics` predicts, what `make_metric` made)."""
    import keras

    from ktrun.compiler.keras_model import make_metric
    from ktrun.spec.experiment import CompileSpec

    metrics = CompileSpec.model_validate({"metrics": entries}).metrics
    y, units, act, loss = _label_kinds()[kind]
    x = np.random.default_rng(1).random((24, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=act)])
    made = [make_metric(m, {}, units, kind == "sparse") for m in metrics]
    model.compile("adam", loss, metrics=made)
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, batch_size=8)
    expected = kn.logged_metrics(((m.logged_name(), m.direction()) for m in metrics), has_validation=True)
    return sorted(history.history), sorted(expected), made


def test_metric_names_are_logged_as_the_table_says() -> None:
    """Fit a tiny model per label kind, with every metric of that kind, and compare the logged
    keys with `logged_metrics` (one model per kind: a metric logged under another name, or two
    colliding, shows as a difference)."""
    by_kind: dict[str, list[object]] = {}
    for metric in kn.METRICS:
        by_kind.setdefault(kn.METRIC_LABELS.get(metric, "binary"), []).append(metric)
    assert set(by_kind) == set(_label_kinds())
    for kind, metrics in by_kind.items():
        logged, expected, _ = _fit_logs(kind, metrics)
        assert logged == expected, kind


#: Metrics with arguments and aliases, per label kind: each is built as its Keras class.
METRIC_EXAMPLES: dict[str, list[object]] = {
    "sparse": [
        {"name": "sparse_top_k_categorical_accuracy", "k": 2},
        {"name": "accuracy", "alias": "acc"},
        {"name": "sparse_categorical_crossentropy", "ignore_class": 2, "alias": "sce"},
    ],
    "one_hot": [
        {"name": "auc", "curve": "PR", "num_thresholds": 200, "multi_label": True, "alias": "pr_auc"},
        {"name": "precision", "thresholds": 0.5, "top_k": 2, "class_id": 1},
        {"name": "recall"},
        {"name": "f1_score", "average": "macro", "threshold": 0.5},
        {"name": "top_k_categorical_accuracy", "k": 2},
        {"name": "categorical_crossentropy", "label_smoothing": 0.1},
        {"name": "accuracy", "alias": "acc"},
    ],
    "binary": [
        "auc",
        {"name": "auc", "curve": "PR", "summation_method": "minoring", "alias": "pr_auc"},
        {"name": "binary_accuracy", "threshold": 0.3},
        {"name": "fbeta_score", "beta": 2.0, "average": "micro"},
        {"name": "accuracy", "alias": "acc"},
    ],
}


def test_metric_arguments_and_aliases_reach_keras_and_the_logs() -> None:
    """Every argument `METRIC_ARGS` allows is one its Keras class takes; the examples (the
    README's among them) are built with the values set, logged under the names the objective
    check resolves (`val_pr_auc`), and `accuracy` with an alias resolves as Keras resolves it."""
    import inspect

    import keras

    from ktrun.spec.domains import METRIC_ARGS

    assert set(kn.METRIC_ARGS) == set(kn.METRICS) == set(kn.METRIC_CLASSES) | {"accuracy"}
    for name, cls_name in kn.METRIC_CLASSES.items():
        params = set(inspect.signature(getattr(keras.metrics, cls_name).__init__).parameters)
        assert kn.METRIC_ARGS[name] <= params, name
        assert kn.METRIC_ARGS[name] <= set(METRIC_ARGS), name  # each argument has a domain
    accuracy = {
        "sparse": "SparseCategoricalAccuracy",
        "one_hot": "CategoricalAccuracy",
        "binary": "BinaryAccuracy",
    }
    for kind, entries in METRIC_EXAMPLES.items():
        logged, expected, made = _fit_logs(kind, entries)
        assert logged == expected, kind
        built = {m.name: m for m in made}
        for entry in entries:
            if isinstance(entry, str):
                continue
            name = str(entry.get("alias") or kn.METRICS[str(entry["name"])][0])
            config = built[name].get_config()
            for arg, value in entry.items():
                if arg not in ("name", "alias"):
                    assert config[arg] == value, (kind, name, arg)
        assert type(built["acc"]).__name__ == accuracy[kind]


@pytest.mark.parametrize("name", sorted(HYPERMODELS))
def test_hypermodel_table_is_what_the_real_hypermodel_registers(name: str) -> None:
    """ktrun's static table of a HyperModel's space, registered as the runtime declares it, equals
    what the real HyperModel's `build` registers in a fresh `HyperParameters` (names, kinds,
    values, ranges, steps, defaults, conditions)."""
    import keras_tuner as kt

    from ktrun.analysis.space import Param
    from ktrun.compiler.plan import _decl
    from ktrun.runtime.kt_compat import efficientnets_without_download

    kind = HYPERMODELS[name]
    real = kt.HyperParameters()
    with efficientnets_without_download():
        getattr(kt.applications, kind.keras_tuner_class)(input_shape=(8, 8, 3), classes=3).build(real)
    ours = kt.HyperParameters()
    for hp_name, decl in kind.hyperparameters.items():
        d = _decl(Param(hp_name, hp_name, decl), ())
        getattr(ours, d.kind)(d.name, **d.kwargs)
    assert [h.name for h in ours.space] == [h.name for h in real.space]
    for a, b in zip(ours.space, real.space, strict=True):
        assert type(a) is type(b), a.name
        mine, theirs = a.get_config(), b.get_config()
        # ktrun lifts a stepped float's max by a hair, so that Keras Tuner keeps the endpoint
        assert mine.pop("max_value", 0) == pytest.approx(theirs.pop("max_value", 0), rel=1e-6), a.name
        assert mine == theirs, a.name


@pytest.mark.parametrize(
    ("name", "arg", "value"),
    [
        ("Cropping2D", "cropping", [[0, 3], [1, 2]]),
        ("Cropping2D", "cropping", [2, [0, 4]]),
        ("ZeroPadding2D", "padding", [[1, 0], [0, 3]]),
        ("Cropping1D", "cropping", [0, 5]),  # one axis: Keras reads the list as its pair
        ("ZeroPadding1D", "padding", [2, 1]),
        ("ZeroPadding1D", "padding", [[2, 1]]),  # the same pair, written per axis
    ],
)
def test_padding_and_cropping_pairs_agree_with_keras(name: str, arg: str, value: object) -> None:
    """`[before, after]` per axis, as Keras takes it (mixed with a plain amount for another axis)."""
    import keras

    from ktrun.compiler.keras_model import make_layer

    shape = (9, 8, 1) if name.endswith("2D") else (9, 2)
    spec = ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "model": {"layers": [{"type": name, arg: value}]}}
    )
    (layer,) = unroll(spec.model.layers, {})
    model = keras.Sequential([keras.Input(shape), make_layer(None, layer, shape)])
    assert tuple(model.output_shape[1:]) == infer(shape, [layer]).output


#: Normalization with its statistics: (per-sample shape, arguments); the shape rule's verdict on
#: each (a failure or not) must be Keras' own (it builds, or it refuses the mean's length).
NORMALIZATION_STATS: list[tuple[tuple[int, ...], dict[str, object]]] = [
    ((4, 3), {"mean": 2.0, "variance": 4.0}),
    ((4, 3), {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}),
    ((4, 3), {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0], "invert": True}),
    ((4, 3), {"mean": [1.0], "variance": [4.0]}),
    ((5, 3), {"axis": [1, 2], "mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}),
    ((4, 3), {"mean": [1.0, 2.0], "variance": [1.0, 4.0]}),
    ((5, 3), {"axis": 1, "mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}),
    ((3, 5), {"axis": 1, "mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}),
    ((4, 3), {"adapt": False}),
]


@pytest.mark.parametrize(("shape", "args"), NORMALIZATION_STATS)
def test_normalization_statistics_agree_with_keras(shape: tuple[int, ...], args: dict[str, object]) -> None:
    """Given statistics normalize (or, with `invert`, undo) as x' = (x - mean) / sqrt(variance);
    `adapt: false` is Keras' un-adapted layer; a list the shape rule refuses Keras refuses too."""
    import keras

    from ktrun.compiler.keras_model import make_layer

    spec = ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "model": {"layers": [{"type": "Normalization", **args}]}}
    )
    (layer,) = unroll(spec.model.layers, {})
    refused = infer(shape, [layer]).failure
    x = np.random.default_rng(0).uniform(0, 5, (2, *shape)).astype("float32")
    try:
        model = keras.Sequential([keras.Input(shape), make_layer(None, layer, shape)])
        y = model.predict(x, verbose=0)
    except Exception:  # Keras refuses it, at build or on the first batch
        assert refused is not None and refused.code == "normalization-stats", args
        return
    assert refused is None, (refused, "Keras takes it")
    mean, variance = (
        np.asarray(args.get(k, d), dtype="float32") for k, d in (("mean", 0.0), ("variance", 1.0))
    )
    if args.get("axis") == 1:
        mean, variance = mean.reshape(-1, 1), variance.reshape(-1, 1)
    expected = x * np.sqrt(variance) + mean if args.get("invert") else (x - mean) / np.sqrt(variance)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_an_unadapted_normalization_is_the_identity_in_keras() -> None:
    """What `normalization-identity` warns about: Keras' Normalization without mean, variance or
    `adapt` builds, starts at mean 0 and variance 1, and returns its input unchanged."""
    import keras

    x = np.random.default_rng(1).uniform(0, 255, (3, 6, 6, 2)).astype("float32")
    layer = keras.layers.Normalization()
    y = keras.Sequential([keras.Input((6, 6, 2)), layer]).predict(x, verbose=0)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(np.asarray(layer.mean), np.zeros((1, 1, 1, 2)))
    np.testing.assert_array_equal(np.asarray(layer.variance), np.ones((1, 1, 1, 2)))


PARAM_EXAMPLES: list[tuple[tuple[tuple[int, ...], ...], dict[str, object]]] = [
    (((7,),), {"type": "Dense", "units": 3, "use_bias": False}),
    (((5, 7),), {"type": "Dense", "units": 3}),
    (((9, 9, 2),), {"type": "Conv2D", "filters": 4, "kernel_size": [3, 5], "use_bias": False}),
    (((9, 9, 2),), {"type": "Conv2DTranspose", "filters": 4, "kernel_size": 3, "strides": 2}),
    (((9, 2),), {"type": "Conv1DTranspose", "filters": 3, "kernel_size": 2}),
    (((9, 9, 3),), {"type": "SeparableConv2D", "filters": 5, "kernel_size": 3, "depth_multiplier": 2}),
    (((9, 3),), {"type": "SeparableConv1D", "filters": 5, "kernel_size": 3, "use_bias": False}),
    (((9, 9, 3),), {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 3}),
    (((6, 4),), {"type": "LSTM", "units": 5}),
    (((6, 4),), {"type": "GRU", "units": 5, "return_sequences": True}),
    (((6, 4),), {"type": "Bidirectional", "layer": {"type": "GRU", "units": 3}, "merge_mode": "sum"}),
    (((6, 4),), {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}),
    (((4, 4, 3),), {"type": "BatchNormalization"}),
    (((4, 6),), {"type": "LayerNormalization"}),
    (((5, 4),), {"type": "PReLU"}),
    (((5, 4, 3),), {"type": "Normalization", "axis": [1, 3]}),
    (((5, 4),), {"type": "Normalization", "mean": [1.0, 2.0, 3.0, 4.0], "variance": [2.0, 2.0, 2.0, 2.0]}),
    (((5, 4),), {"type": "Normalization", "adapt": False}),
    (((12,),), {"type": "Embedding", "input_dim": 50, "output_dim": 6}),
    (((6, 4), (5, 3), (5, 2)), {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3, "value_dim": 4}),
    (((6, 4),), {"type": "MultiHeadAttention", "num_heads": 3, "key_dim": 2, "use_bias": False}),
    (((6, 4),), {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "output_shape": [7]}),
    (((6, 4), (5, 4)), {"type": "Attention", "use_scale": True, "score_mode": "concat"}),
    (((6, 4),), {"type": "AdditiveAttention", "use_scale": False}),
]


@pytest.mark.parametrize(("shapes", "args"), PARAM_EXAMPLES, ids=[str(a["type"]) for _, a in PARAM_EXAMPLES])
def test_weights_counted_statically_are_the_ones_keras_holds(
    shapes: tuple[tuple[int, ...], ...], args: dict[str, object]
) -> None:
    """Biases off, kernels of two sizes, depth multipliers, wrappers, separate key and value
    widths: each layer's count from shapes alone against `count_params` of the built layer."""
    import keras

    from ktrun.compiler.keras_model import build_layer, call_layer

    names = [f"in{i}" for i in range(len(shapes))]
    spec = ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "model": {"layers": [{**args, "inputs": names}]}}
    )
    (layer,) = unroll(spec.model.layers, {}, inputs=names)
    inputs = [keras.Input(s) for s in shapes]
    out = call_layer(layer, build_layer(layer), inputs)
    trace = infer(shapes[0], [layer], dict(zip(names, shapes, strict=True)))
    assert trace.failure is None
    counted = count_params(trace)
    assert (counted.total, counted.exact) == (keras.Model(inputs, out).count_params(), True)


# ---------------------------------------------------------------- FLOPs against TF's profiler

#: Layer types that compute nothing at inference, so keep `no_flops`: they move, drop or look
#: values up, are the identity at inference, or are activation functions (not counted, as TF's
#: profiler counts none of relu, sigmoid or tanh). Resizing's interpolation is not counted either.
ZERO_FLOPS = {
    *("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout"),
    *("Flatten", "Reshape", "Concatenate", "Embedding", "TextVectorization", "CategoryEncoding"),
    *("UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D"),
    *("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"),
    *("Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"),
    *("RandomContrast", "RandomBrightness", "RandomCrop", "RandomGrayscale"),
}


def test_every_layer_type_counts_its_flops_or_says_why_not() -> None:
    from ktrun.layers.base import no_flops

    zero = {name for name, t in REGISTRY.items() if t.flops is no_flops}
    assert zero == ZERO_FLOPS, "give the layer type a `flops=` rule, or list it in ZERO_FLOPS with why"


#: (per-sample input shapes, layer arguments): one representative of each family the profiler
#: counts. Recurrent layers are built unrolled for the profiler, which counts a while loop's
#: body once rather than per step; the operations are the same.
FLOP_EXAMPLES: list[tuple[tuple[tuple[int, ...], ...], dict[str, object]]] = [
    (((3,),), {"type": "Dense", "units": 5}),
    (((7, 3),), {"type": "Dense", "units": 5, "use_bias": False}),
    (((8, 8, 2),), {"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}),
    (((8, 2),), {"type": "Conv1D", "filters": 4, "kernel_size": 3}),
    (((8, 8, 2),), {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2}),
    (((8, 8, 3),), {"type": "SeparableConv2D", "filters": 5, "kernel_size": 3}),
    (((5, 3),), {"type": "LSTM", "units": 4}),
    (((5, 3),), {"type": "GRU", "units": 4, "return_sequences": True}),
    (((5, 3),), {"type": "SimpleRNN", "units": 4}),
    (((6, 4), (5, 3)), {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}),
    (((6, 4), (5, 4)), {"type": "Attention", "use_scale": True}),
    (((4, 4, 8),), {"type": "BatchNormalization"}),
    (((5, 8),), {"type": "LayerNormalization"}),
    (((8, 8, 2),), {"type": "MaxPooling2D"}),
    (((9, 9, 2),), {"type": "AveragePooling2D", "pool_size": 3, "strides": 2}),
    (((8, 8, 2),), {"type": "GlobalAveragePooling2D"}),
    (((6, 4), (6, 4), (6, 4)), {"type": "Average"}),
    (((6, 4),), {"type": "Rescaling", "scale": 0.5, "offset": 1.0}),
]


def _profiled_flops(model: Any, shapes: tuple[tuple[int, ...], ...]) -> int:
    """TF's own count (`tf.compat.v1.profiler` with `float_operation()`, as keras-flops and TF's
    model-analysis docs do it) of one sample's forward pass, on the frozen graph of a concrete
    function; in ktrun's convention: the softmax (an activation) left out, and each Einsum, for
    which TF registers no count, added as 2 per multiply-add over its equation's letters."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    run = tf.function(lambda *x: model(list(x) if len(x) > 1 else x[0], training=False))
    concrete = run.get_concrete_function(*[tf.TensorSpec((1, *s), tf.float32) for s in shapes])
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    info = tf.compat.v1.profiler.profile(
        graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="scope", options=options
    )
    total, stack = 0, list(info.children)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if graph.get_operation_by_name(node.name).type != "Softmax":
            total += node.float_ops
    for op in graph.get_operations():
        if op.type == "Einsum":
            equation = op.get_attr("equation").decode()
            sides = equation.split("->")[0].split(",")
            sizes = {
                letter: int(dim)
                for side, tensor in zip(sides, op.inputs, strict=True)
                for letter, dim in zip(side, tensor.shape, strict=True)
            }
            total += 2 * int(np.prod(list(sizes.values())))
    return total


@pytest.mark.parametrize(("shapes", "args"), FLOP_EXAMPLES, ids=[str(a["type"]) for _, a in FLOP_EXAMPLES])
def test_flops_counted_statically_are_the_ones_tf_profiles(
    shapes: tuple[tuple[int, ...], ...], args: dict[str, object]
) -> None:
    """Exact for these examples; the 1% tolerance is for the few operations per feature that
    normalisation spends folding its statistics, which TF versions arrange differently."""
    import keras

    from ktrun.analysis.size import count_flops
    from ktrun.compiler.keras_model import build_layer, call_layer

    names = [f"in{i}" for i in range(len(shapes))]
    spec = ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "model": {"layers": [{**args, "inputs": names}]}}
    )
    (layer,) = unroll(spec.model.layers, {}, inputs=names)
    built = build_layer(layer)
    if args["type"] in ("LSTM", "GRU", "SimpleRNN"):
        built = type(built).from_config({**built.get_config(), "unroll": True})
    inputs = [keras.Input(s) for s in shapes]
    model = keras.Model(inputs, call_layer(layer, built, inputs))
    trace = infer(shapes[0], [layer], dict(zip(names, shapes, strict=True)))
    counted = count_flops(trace)
    assert counted.exact and counted.total > 0
    assert counted.total == pytest.approx(_profiled_flops(model, shapes), rel=0.01)


# ---------------------------------------------------------------- ImageNet weights files


def _module_source(app: str) -> tuple[Any, str]:
    import inspect

    import keras

    module = inspect.getmodule(getattr(keras.applications, app))
    assert module is not None, app
    source = inspect.getsource(module)
    if "resnet.ResNet(" in source:  # the V2s build (and load) through resnet.ResNet
        from keras.src.applications import resnet

        module, source = resnet, source + inspect.getsource(resnet)
    # adjacent string literals split over lines, joined as Python joins them
    return module, re.sub(r'"\s*\n\s*f?"', "", source)


def test_imagenet_file_table_covers_every_backbone_application() -> None:
    assert set(IMAGENET_FILES) == set(APPLICATIONS)


@pytest.mark.parametrize("app", sorted(APPLICATIONS))
def test_imagenet_file_is_the_one_keras_get_file_caches(app: str) -> None:
    """The name ktrun loads is the name Keras' application passes to `get_file` with
    include_top=False (`cache_subdir="models"`), read from the application's own module."""
    import inspect

    import keras

    module, source = _module_source(app)
    assert 'cache_subdir="models"' in source, app
    made = IMAGENET_FILES[app]
    file = made.name(None, 224, 224)
    assert file is not None, app
    default_name = inspect.signature(getattr(keras.applications, app)).parameters["name"].default
    if made.pattern.endswith("_tf_kernels_notop.h5"):
        stem = file.removesuffix("_weights_tf_dim_ordering_tf_kernels_notop.h5")
        # written out in full (VGG, DenseNet, Xception, Inception), or `weights_name=` (ResNet)
        literal = f'"{file}"' in source or f'{file}"' in source
        templated = f'weights_name="{stem}"' in source and (
            'f"{weights_name}_weights_tf_dim_ordering_tf_kernels_notop.h5"' in source
        )
        assert literal or templated, (app, file)
        if templated:
            assert stem in module.WEIGHTS_HASHES, app
    elif made.pattern.endswith("_notop.h5") and not made.alphas:
        # EfficientNet, EfficientNetV2, ConvNeXt: the model's default name + "_notop.h5"
        assert file == f"{default_name}_notop.h5", (app, default_name)
        assert 'file_suffix = "_notop.h5"' in source and "file_name = name + file_suffix" in source
    elif app == "MobileNet":
        assert '"mobilenet_%s_%d_tf_no_top.h5" % (alpha_text, rows)' in source
        assert "rows not in [128, 160, 192, 224]" in source and "rows = 224" in source
        assert "alpha not in [0.25, 0.50, 0.75, 1.0]" in source
        for alpha, text in (("1.0", "1_0"), ("0.75", "7_5"), ("0.50", "5_0")):
            assert f'alpha == {alpha}:\n            alpha_text = "{text}"' in source, alpha
        assert made.name(0.25, 160, 160) == "mobilenet_2_5_160_tf_no_top.h5"
    elif app == "MobileNetV2":
        assert '"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"' in source
        assert "rows not in [96, 128, 160, 192, 224]" in source and "rows = 224" in source
        assert "alpha not in [0.35, 0.50, 0.75, 1.0, 1.3, 1.4]" in source
        assert made.name(0.35, 96, 96) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    else:  # MobileNetV3: fixed 224, its hash table names the widths
        assert 'f"weights_mobilenet_v3_{model_name}_no_top_v2.h5"' in source
        assert '"{}{}_224_{}_float".format(' in source
        kind = "small" if app.endswith("Small") else "large"
        widths = {k for k in module.WEIGHTS_HASHES if k.startswith(f"{kind}_224_")}
        assert widths == {f"{kind}_224_{a}_float" for a in made.alphas}, widths
    assert made.name(None, 31, 97) == file  # any other input loads the 224 file


def test_keras_models_dir_is_where_keras_caches() -> None:
    import keras

    home = Path(keras.src.backend.config.keras_home()).expanduser()
    if os.environ.get("KERAS_HOME") is None and os.access(home, os.W_OK):
        assert keras_models_dir() == home / "models"


def test_efficientnet_imagenet_rescaling_is_the_one_ktrun_folds() -> None:
    """Keras' EfficientNet adds a Rescaling by 1/sqrt(stddev) when `weights == "imagenet"` only:
    ktrun, loading by path, folds that factor into the Normalization (same constants)."""
    from keras.src.applications import efficientnet

    from ktrun.compiler.keras_model import IMAGENET_STDDEV_RGB

    source = inspect_source(efficientnet)
    assert 'if weights == "imagenet":' in source
    assert "[1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB]" in source
    assert tuple(efficientnet.IMAGENET_STDDEV_RGB) == IMAGENET_STDDEV_RGB


def inspect_source(module: Any) -> str:
    import inspect

    return inspect.getsource(module)
