"""Names Keras knows, as plain tables: checks must not import TensorFlow to validate a name.

`tests/contracts/test_keras_tables.py` compares every table with the installed Keras, so a Keras
upgrade that drops or renames something fails the suite instead of a search.
"""

from __future__ import annotations

from typing import Literal

Direction = Literal["min", "max"]

ACTIVATIONS: tuple[str, ...] = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)  # fmt: skip

# `constant` and `identity` are left out: by name they fail (no value; 2-D kernels only).
INITIALIZERS: tuple[str, ...] = (
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "zeros",
)  # fmt: skip

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

#: Loss → what the labels must look like ("sparse" integers, "one_hot" rows, "binary" 0/1,
#: "regression" real values).
LOSSES: dict[str, str] = {
    "sparse_categorical_crossentropy": "sparse",
    "categorical_crossentropy": "one_hot",
    "categorical_focal_crossentropy": "one_hot",
    "categorical_hinge": "one_hot",
    "kl_divergence": "one_hot",
    "binary_crossentropy": "binary",
    "binary_focal_crossentropy": "binary",
    "hinge": "binary",
    "squared_hinge": "binary",
    "mean_squared_error": "regression",
    "mse": "regression",
    "mean_absolute_error": "regression",
    "mae": "regression",
    "mean_absolute_percentage_error": "regression",
    "mape": "regression",
    "mean_squared_logarithmic_error": "regression",
    "msle": "regression",
    "huber": "regression",
    "log_cosh": "regression",
    "poisson": "regression",
}
#: Losses whose Keras class takes `from_logits`.
LOGIT_LOSSES = frozenset(
    {
        "sparse_categorical_crossentropy",
        "categorical_crossentropy",
        "categorical_focal_crossentropy",
        "binary_crossentropy",
        "binary_focal_crossentropy",
    }
)

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


def logged_metrics(metrics: list[str], has_validation: bool) -> dict[str, Direction]:
    """Every key a fit with these metrics writes to its logs, with its direction."""
    out: dict[str, Direction] = {"loss": "min"}
    for m in metrics:
        if m in METRICS:
            name, direction = METRICS[m]
            out[name] = direction
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
