"""Names Keras knows, as plain tables: checks must not import TensorFlow to validate a name.

`tests/contracts/test_keras_tables.py` compares every table with the installed Keras, so a Keras
upgrade that drops or renames something fails the suite instead of a search.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Direction = Literal["min", "max"]

ACTIVATIONS: tuple[str, ...] = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)  # fmt: skip

_SEEDED = frozenset({"seed"})
#: Initializer → the arguments ktrun lets you set (`{name: random_normal, stddev: $s}`); every
#: one left out keeps Keras' default. `constant` and `identity` are left out: by name they fail
#: (no value; 2-D kernels only).
INITIALIZER_ARGS: dict[str, frozenset[str]] = {
    "glorot_normal": _SEEDED,
    "glorot_uniform": _SEEDED,
    "he_normal": _SEEDED,
    "he_uniform": _SEEDED,
    "lecun_normal": _SEEDED,
    "lecun_uniform": _SEEDED,
    "ones": frozenset(),
    "orthogonal": _SEEDED | {"gain"},
    "random_normal": _SEEDED | {"mean", "stddev"},
    "random_uniform": _SEEDED | {"minval", "maxval"},
    "truncated_normal": _SEEDED | {"mean", "stddev"},
    "variance_scaling": _SEEDED | {"scale", "mode", "distribution"},
    "zeros": frozenset(),
}
INITIALIZERS: tuple[str, ...] = tuple(INITIALIZER_ARGS)
VARIANCE_SCALING_MODES: tuple[str, ...] = ("fan_in", "fan_out", "fan_avg")
VARIANCE_SCALING_DISTRIBUTIONS: tuple[str, ...] = ("truncated_normal", "untruncated_normal", "uniform")

#: Weight constraint (`kernel_constraint: {name: max_norm, max_value: $m}`) → its arguments.
CONSTRAINT_ARGS: dict[str, frozenset[str]] = {
    "max_norm": frozenset({"max_value", "axis"}),
    "min_max_norm": frozenset({"min_value", "max_value", "rate", "axis"}),
    "non_neg": frozenset(),
    "unit_norm": frozenset({"axis"}),
}
CONSTRAINTS: tuple[str, ...] = tuple(CONSTRAINT_ARGS)

PADDINGS: tuple[str, ...] = ("valid", "same")
CONV1D_PADDINGS: tuple[str, ...] = ("valid", "same", "causal")

#: Optimizer name (as `optimizer.name` takes it) → its class under `keras.optimizers`.
OPTIMIZER_CLASSES: dict[str, str] = {
    "adam": "Adam",
    "adamw": "AdamW",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "nadam": "Nadam",
    "adamax": "Adamax",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
    "ftrl": "Ftrl",
    "lion": "Lion",
    "lamb": "Lamb",
    "adafactor": "Adafactor",
}
OPTIMIZERS: tuple[str, ...] = tuple(OPTIMIZER_CLASSES)

_ADAM_LIKE = frozenset({"beta_1", "beta_2", "epsilon", "weight_decay"})
_FTRL = {"learning_rate_power", "initial_accumulator_value", "beta", "weight_decay"}
_FTRL_STRENGTHS = {f"{k}_regularization_strength" for k in ("l1", "l2", "l2_shrinkage")}
#: Optimizer → the arguments ktrun lets you set (besides learning_rate, clipnorm, clipvalue);
#: every one left out keeps Keras' default.
OPTIMIZER_ARGS: dict[str, frozenset[str]] = {
    "adam": _ADAM_LIKE | {"amsgrad"},
    "adamw": _ADAM_LIKE | {"amsgrad"},
    "sgd": frozenset({"momentum", "nesterov", "weight_decay"}),
    "rmsprop": frozenset({"rho", "momentum", "epsilon", "centered", "weight_decay"}),
    "nadam": _ADAM_LIKE,
    "adamax": _ADAM_LIKE,
    "adadelta": frozenset({"rho", "epsilon", "weight_decay"}),
    "adagrad": frozenset({"initial_accumulator_value", "epsilon", "weight_decay"}),
    "ftrl": frozenset(_FTRL | _FTRL_STRENGTHS),
    "lion": frozenset({"beta_1", "beta_2", "weight_decay"}),
    "lamb": _ADAM_LIKE,
    "adafactor": frozenset(
        {"beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step", "weight_decay"}
    ),
}
COMMON_OPTIMIZER_ARGS = frozenset({"learning_rate", "clipnorm", "clipvalue"})

#: Learning-rate schedule (as `learning_rate.schedule` takes it) → its class under
#: `keras.optimizers.schedules`.
SCHEDULE_CLASSES: dict[str, str] = {
    "exponential_decay": "ExponentialDecay",
    "polynomial_decay": "PolynomialDecay",
    "inverse_time_decay": "InverseTimeDecay",
    "cosine_decay": "CosineDecay",
    "cosine_decay_restarts": "CosineDecayRestarts",
    "piecewise_constant_decay": "PiecewiseConstantDecay",
}
SCHEDULES: tuple[str, ...] = tuple(SCHEDULE_CLASSES)
_DECAY = frozenset({"initial_learning_rate", "decay_steps"})
#: Schedule → every argument of its Keras class but `name`; every one left out keeps Keras'
#: default, and those in `SCHEDULE_REQUIRED` have none.
SCHEDULE_ARGS: dict[str, frozenset[str]] = {
    "exponential_decay": _DECAY | {"decay_rate", "staircase"},
    "polynomial_decay": _DECAY | {"end_learning_rate", "power", "cycle"},
    "inverse_time_decay": _DECAY | {"decay_rate", "staircase"},
    "cosine_decay": _DECAY | {"alpha", "warmup_target", "warmup_steps"},
    "cosine_decay_restarts": frozenset(
        {"initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha"}
    ),
    "piecewise_constant_decay": frozenset({"boundaries", "values"}),
}
#: Schedule → the arguments its Keras class cannot do without.
SCHEDULE_REQUIRED: dict[str, frozenset[str]] = {
    "exponential_decay": _DECAY | {"decay_rate"},
    "polynomial_decay": _DECAY,
    "inverse_time_decay": _DECAY | {"decay_rate"},
    "cosine_decay": _DECAY,
    "cosine_decay_restarts": frozenset({"initial_learning_rate", "first_decay_steps"}),
    "piecewise_constant_decay": frozenset({"boundaries", "values"}),
}

#: Loss (as `loss.name` takes it) → its class under `keras.losses`. Left out: `ctc` and `circle`
#: (sequence labels and embedding pairs: not what a classifier or regressor outputs).
LOSS_CLASSES: dict[str, str] = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "categorical_generalized_cross_entropy": "CategoricalGeneralizedCrossEntropy",
    "categorical_hinge": "CategoricalHinge",
    "kl_divergence": "KLDivergence",
    "binary_crossentropy": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "hinge": "Hinge",
    "squared_hinge": "SquaredHinge",
    "dice": "Dice",
    "tversky": "Tversky",
    "mean_squared_error": "MeanSquaredError",
    "mse": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mae": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mape": "MeanAbsolutePercentageError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "msle": "MeanSquaredLogarithmicError",
    "huber": "Huber",
    "log_cosh": "LogCosh",
    "poisson": "Poisson",
    "cosine_similarity": "CosineSimilarity",
}

_REGRESSION_LOSSES = (
    "mean_squared_error", "mse", "mean_absolute_error", "mae", "mean_absolute_percentage_error",
    "mape", "mean_squared_logarithmic_error", "msle", "huber", "log_cosh", "poisson",
    "cosine_similarity",
)  # fmt: skip
#: Loss → what the labels must look like ("sparse" integers, "one_hot" rows, "binary" 0/1,
#: "overlap" 0/1 rows shaped like the output: one unit for two classes, one-hot rows for more,
#: "regression" real values).
LOSSES: dict[str, str] = {
    "sparse_categorical_crossentropy": "sparse",
    "categorical_generalized_cross_entropy": "sparse",
    "categorical_crossentropy": "one_hot",
    "categorical_focal_crossentropy": "one_hot",
    "categorical_hinge": "one_hot",
    "kl_divergence": "one_hot",
    "binary_crossentropy": "binary",
    "binary_focal_crossentropy": "binary",
    "hinge": "binary",
    "squared_hinge": "binary",
    "dice": "overlap",
    "tversky": "overlap",
    **dict.fromkeys(_REGRESSION_LOSSES, "regression"),
}

_CROSSENTROPY = frozenset({"from_logits", "label_smoothing", "axis"})
_FOCAL = _CROSSENTROPY | {"alpha", "gamma"}
#: Loss → the arguments ktrun lets you set (every Keras constructor argument but `reduction`,
#: `name` and `dtype`); every one left out keeps Keras' default.
LOSS_ARGS: dict[str, frozenset[str]] = {
    **{name: frozenset() for name in LOSS_CLASSES},
    "sparse_categorical_crossentropy": frozenset({"from_logits", "ignore_class", "axis"}),
    "categorical_crossentropy": _CROSSENTROPY,
    "binary_crossentropy": _CROSSENTROPY,
    "categorical_focal_crossentropy": _FOCAL,
    "binary_focal_crossentropy": _FOCAL | {"apply_class_balancing"},
    "categorical_generalized_cross_entropy": frozenset({"q"}),
    "huber": frozenset({"delta"}),
    "dice": frozenset({"axis"}),
    "tversky": frozenset({"alpha", "beta", "axis"}),
    "cosine_similarity": frozenset({"axis"}),
}
#: Losses whose Keras class takes `from_logits`.
LOGIT_LOSSES = frozenset(name for name, args in LOSS_ARGS.items() if "from_logits" in args)

#: Metric given to `compile(metrics=[...])` → (name it is logged under, direction of "better").
METRICS: dict[str, tuple[str, Direction]] = {
    "accuracy": ("accuracy", "max"),
    "sparse_categorical_accuracy": ("sparse_categorical_accuracy", "max"),
    "categorical_accuracy": ("categorical_accuracy", "max"),
    "binary_accuracy": ("binary_accuracy", "max"),
    "top_k_categorical_accuracy": ("top_k_categorical_accuracy", "max"),
    "sparse_top_k_categorical_accuracy": ("sparse_top_k_categorical_accuracy", "max"),
    "auc": ("auc", "max"),
    "precision": ("precision", "max"),
    "recall": ("recall", "max"),
    "f1_score": ("f1_score", "max"),
    "fbeta_score": ("fbeta_score", "max"),
    "r2_score": ("r2_score", "max"),
    "mae": ("mae", "min"),
    "mse": ("mse", "min"),
    "mean_absolute_error": ("mean_absolute_error", "min"),
    "mean_squared_error": ("mean_squared_error", "min"),
    "root_mean_squared_error": ("root_mean_squared_error", "min"),
    "mean_absolute_percentage_error": ("mean_absolute_percentage_error", "min"),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy", "min"),
    "categorical_crossentropy": ("categorical_crossentropy", "min"),
    "binary_crossentropy": ("binary_crossentropy", "min"),
}

#: Metric → its class under `keras.metrics`, built when it has arguments or an alias. `accuracy`
#: has none: Keras picks binary, sparse or categorical accuracy by the output and the labels, and
#: so does the builder.
METRIC_CLASSES: dict[str, str] = {
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "categorical_accuracy": "CategoricalAccuracy",
    "binary_accuracy": "BinaryAccuracy",
    "top_k_categorical_accuracy": "TopKCategoricalAccuracy",
    "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy",
    "auc": "AUC",
    "precision": "Precision",
    "recall": "Recall",
    "f1_score": "F1Score",
    "fbeta_score": "FBetaScore",
    "r2_score": "R2Score",
    "mae": "MeanAbsoluteError",
    "mse": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_squared_error": "MeanSquaredError",
    "root_mean_squared_error": "RootMeanSquaredError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
}

_THRESHOLDED = frozenset({"thresholds", "top_k", "class_id"})
#: Metric → the arguments ktrun lets you set (besides `alias`, Keras' `name`); every one left
#: out keeps Keras' default.
METRIC_ARGS: dict[str, frozenset[str]] = {
    **{name: frozenset() for name in METRICS},
    "binary_accuracy": frozenset({"threshold"}),
    "top_k_categorical_accuracy": frozenset({"k"}),
    "sparse_top_k_categorical_accuracy": frozenset({"k"}),
    "auc": frozenset(
        {"num_thresholds", "curve", "summation_method", "multi_label", "num_labels", "from_logits"}
    ),
    "precision": _THRESHOLDED,
    "recall": _THRESHOLDED,
    "f1_score": frozenset({"average", "threshold"}),
    "fbeta_score": frozenset({"average", "beta", "threshold"}),
    "r2_score": frozenset({"class_aggregation", "num_regressors"}),
    "sparse_categorical_crossentropy": frozenset({"from_logits", "ignore_class", "axis"}),
    "categorical_crossentropy": frozenset({"from_logits", "label_smoothing", "axis"}),
    "binary_crossentropy": frozenset({"from_logits", "label_smoothing"}),
}

#: Metrics that only make sense for one label encoding.
METRIC_LABELS: dict[str, str] = {
    "sparse_categorical_accuracy": "sparse",
    "sparse_top_k_categorical_accuracy": "sparse",
    "sparse_categorical_crossentropy": "sparse",
    "categorical_accuracy": "one_hot",
    "top_k_categorical_accuracy": "one_hot",
    "categorical_crossentropy": "one_hot",
    "binary_accuracy": "binary",
    "binary_crossentropy": "binary",
}


def logged_metrics(
    metrics: Iterable[tuple[str, Direction | None]], has_validation: bool
) -> dict[str, Direction | None]:
    """Every key a fit with these metrics (logged name, direction) writes to its logs, with its
    direction (None: unknown, a metric of the user's own)."""
    out: dict[str, Direction | None] = {"loss": "min"}
    out.update(metrics)
    if has_validation:
        out.update({f"val_{k}": v for k, v in list(out.items())})
    return out


def metric_direction(name: str) -> Direction | None:
    """Direction of a logged metric name (with or without `val_`), if ktrun knows it."""
    base = name.removeprefix("val_")
    if base == "loss":
        return "min"
    for logged, direction in METRICS.values():
        if logged == base:
            return direction
    return None
