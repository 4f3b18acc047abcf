"""`ExperimentSpec`: the whole composed config of one search, validated as one Pydantic model.

The section and key names are the public interface: people type them as Hydra overrides
(`fit.epochs=3`, `tuner.algorithm=bayesian`), so they are kept stable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    Tag,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ktrun.algorithms import ALGORITHMS
from ktrun.layers import Layer
from ktrun.spec import keras_names as kn
from ktrun.spec.base import HpName as HpNameKey
from ktrun.spec.base import Strict
from ktrun.spec.failures import FAILURE_KINDS, FailureAction
from ktrun.spec.hypermodels import HYPERMODELS, HyperModelSpec
from ktrun.spec.hyperparameters import Hyperparameter
from ktrun.spec.refs import (
    NAME_PATTERN,
    SERIALIZER,
    BoolArg,
    CountArg,
    FloatArg,
    HpRef,
    IntArg,
    Scalar,
    StrArg,
    json_schema,
    validator,
)

# ---------------------------------------------------------------- experiment

if TYPE_CHECKING:
    AlgorithmName = str
else:
    AlgorithmName = Literal[tuple(ALGORITHMS)]


class ExperimentInfo(Strict):
    """What the search is called and how it is seeded."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Used in paths.")
    seed: int = Field(
        0, description="Seeds the tuner, the data splits and every trial's training (with its trial id)."
    )
    description: str = Field("", description="Free text, shown in the report.")


# ---------------------------------------------------------------- data

#: One per module in `ktrun.data.sources` (tests/unit/test_sources.py checks they agree).
DataSourceName = Literal[
    "digits", "mnist", "fashion_mnist", "cifar10", "npz", "csv", "custom", "image_folder", "shards"
]


class DataSpec(Strict):
    """Where the data comes from and how it is prepared (once per search, not per trial)."""

    source: DataSourceName = Field(
        "digits",
        description="Where the data comes from: a built-in set (digits, mnist, fashion_mnist, cifar10), "
        "a file (npz, csv), a folder of images (image_folder), a directory of npz shards (shards), or "
        "your own loader (custom).",
    )
    path: str | None = Field(
        None,
        description=(
            "Local file. mnist/fashion_mnist/cifar10: a Keras-format .npz (x_train, y_train, "
            "x_test, y_test) so no download is needed; npz: arrays `x_key`/`y_key`; csv: a table; "
            "image_folder: a folder with one subfolder of images per class; shards: a directory of "
            ".npz files (each with `x_key`/`y_key`), streamed one at a time."
        ),
    )
    x_key: str = Field("x", description="npz, shards: the name of the inputs' array in each file.")
    y_key: str = Field("y", description="npz, shards: the name of the labels' array in each file.")
    label_column: str | int = Field(-1, description="csv: the label column (name or index).")
    columns: dict[str, Literal["numeric", "categorical", "text"]] = Field(
        default_factory=dict,
        description=(
            "csv: the kind of each column that is not numeric, by name: categorical (integer ids, "
            "0 for a value the training rows do not have) or text (strings, for TextVectorization); "
            "each feeds its own model input (model.inputs). Unlisted columns are numeric."
        ),
    )
    image_size: list[Annotated[int, Field(ge=1, le=8192)]] = Field(
        default_factory=lambda: [256, 256],
        min_length=2,
        max_length=2,
        description="image_folder: every image is resized to [height, width] (bilinear), as Keras' "
        "image_dataset_from_directory does.",
    )
    color_mode: Literal["rgb", "grayscale", "rgba"] = Field(
        "rgb", description="image_folder: each image's channels: rgb (3), grayscale (1) or rgba (4)."
    )
    validation_split: float = Field(
        0.2,
        ge=0.0,
        lt=1.0,
        description="The fraction of the training rows held out to score each trial (seeded by "
        "experiment.seed, stratified by class).",
    )
    test_split: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description=(
            "A fraction of the rows held out as the test split before the validation split (seeded "
            "by experiment.seed, stratified by class; shards: per shard, not stratified): the search "
            "never sees them; `final` scores on them. 0: none."
        ),
    )
    test_path: str | None = Field(
        None,
        description=(
            "npz/csv: a second file of the same format (same keys or columns) holding the test "
            "split; shards: a second directory of shards. mnist/fashion_mnist/cifar10 have their "
            "own (x_test, y_test)."
        ),
    )
    normalize: Literal["none", "scale", "standardize"] = Field(
        "scale",
        description="scale: divide by the data's maximum; standardize: zero mean, unit var.",
    )
    labels: Literal["sparse", "one_hot", "multi_hot"] = Field(
        "sparse",
        description=(
            "Classification labels as the loss takes them: sparse (integer class ids), one_hot "
            "(rows with one 1), multi_hot (multi-label: rows of 0/1 with any number of 1s, for k "
            "sigmoid units and binary_crossentropy)."
        ),
    )
    per_step: bool = Field(
        False,
        description=(
            "Sequence labelling: one class label per time step. y holds (n, T) class ids (or "
            "(n, T, C) rows) and the model outputs (T, C), e.g. an LSTM with return_sequences "
            "then Dense."
        ),
    )
    num_classes: int | None = Field(
        None,
        ge=1,
        description=(
            "Known for built-in sources; for npz/csv classification taken from the labels (max + 1, "
            "or the width of one-hot/multi-hot rows) when unset."
        ),
    )
    task: Literal["classification", "regression", "reconstruction"] = Field(
        "classification",
        description=(
            "classification: class labels; regression: real targets of any shape per sample ((n,), "
            "(n, k), (n, a, b)), which the output must match; reconstruction: the target is the "
            "input itself, normalised the same way (autoencoders), and no y array is read."
        ),
    )
    limit: int | None = Field(None, ge=1, description="Use at most this many rows (quick runs).")
    loader: HpNameKey | None = Field(
        None,
        description="custom: the name of your function under `custom_objects.loaders`; it takes "
        "no arguments and returns the arrays (x, y), a tf.data.Dataset of (x, y) pairs, or a dict of "
        "them by split (train, validation, test). Never imported by `check`.",
    )
    input_shape: list[Annotated[int, Field(ge=1)]] | None = Field(
        None,
        min_length=1,
        description="custom: the per-sample shape of the x your loader returns; `check` takes it on "
        "trust (it runs no code of yours) and the run verifies it.",
    )


# ---------------------------------------------------------------- model


def _name_only(v: object) -> object:
    """`optimizer: adam` is shorthand for `optimizer: {name: adam}` (likewise `loss`)."""
    return {"name": v} if isinstance(v, str) else v


#: A schedule's name (or `$name` of a choice of them); a name is checked, an editor completes it.
ScheduleName = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(kn.SCHEDULES))
]


class ScheduleSpec(Strict):
    """A learning-rate schedule (`keras.optimizers.schedules`) with its arguments, each tunable;
    `schedule: $s` chooses among several, and each argument goes to the schedules that take it
    (which ones: `keras_names.SCHEDULE_ARGS`). Unset arguments keep Keras' defaults."""

    schedule: ScheduleName = Field(
        description="`exponential_decay`, `polynomial_decay`, `inverse_time_decay`, `cosine_decay`, "
        "`cosine_decay_restarts` or `piecewise_constant_decay`."
    )
    initial_learning_rate: FloatArg | None = Field(None, description="Every schedule but piecewise.")
    decay_steps: IntArg | None = Field(None, description="Steps (batches) of one decay period.")
    decay_rate: FloatArg | None = Field(None, description="exponential_decay, inverse_time_decay.")
    staircase: BoolArg | None = Field(None, description="Decay in whole periods (exponential, inverse time).")
    end_learning_rate: FloatArg | None = Field(None, description="polynomial_decay; Keras: 1e-4.")
    power: FloatArg | None = Field(None, description="polynomial_decay; Keras: 1.0.")
    cycle: BoolArg | None = Field(None, description="polynomial_decay: start over after decay_steps.")
    alpha: FloatArg | None = Field(None, description="Cosine schedules: the floor, a fraction of the rate.")
    warmup_target: FloatArg | None = Field(None, description="cosine_decay: the rate warmed up to.")
    warmup_steps: IntArg | None = Field(None, description="cosine_decay: steps of linear warm-up.")
    first_decay_steps: IntArg | None = Field(None, description="cosine_decay_restarts: the first period.")
    t_mul: FloatArg | None = Field(None, description="cosine_decay_restarts: period growth; Keras: 2.0.")
    m_mul: FloatArg | None = Field(None, description="cosine_decay_restarts: rate kept per restart.")
    boundaries: list[IntArg] | None = Field(None, description="piecewise_constant_decay: steps, increasing.")
    values: list[FloatArg] | None = Field(
        None, description="piecewise_constant_decay: the rates, one more than `boundaries`."
    )

    def arguments(self) -> dict[str, object]:
        """The arguments set (the rest keep Keras' defaults)."""
        return {k: v for k, v in self if k != "schedule" and v is not None}


def _rate_or_schedule(v: object) -> str:
    return "rate[schedule]" if isinstance(v, dict | ScheduleSpec) else "rate[number]"


#: `learning_rate: 1e-3`, `$lr`, or a schedule section: one branch is validated, so an error
#: reads as that branch's (the tags have a `[` so error locations skip them, like Pydantic's own).
LearningRate = Annotated[
    Annotated[FloatArg, Tag("rate[number]")] | Annotated[ScheduleSpec, Tag("rate[schedule]")],
    Discriminator(_rate_or_schedule),
]


class _OptimizerArguments(Strict):
    """The arguments an optimizer can take besides its learning rate (which ones fit which
    optimizer: `keras_names.OPTIMIZER_ARGS`)."""

    beta_1: FloatArg | None = Field(
        None,
        description="adam, adamw, adamax, nadam, lion, lamb: decay of the mean estimate, in [0, 1).",
    )
    beta_2: FloatArg | None = Field(
        None,
        description="adam, adamw, adamax, nadam, lion, lamb: decay of the second-moment estimate, in [0, 1).",
    )
    epsilon: FloatArg | None = Field(
        None, description="A small constant (> 0) that keeps the update's denominator from zero."
    )
    amsgrad: BoolArg | None = Field(
        None, description="adam, adamw: use the AMSGrad variant (the running maximum of the second moment)."
    )
    weight_decay: FloatArg | None = Field(
        None, description="Decoupled weight decay (>= 0) applied to every weight."
    )
    momentum: FloatArg | None = Field(None, description="sgd, rmsprop: the momentum, in [0, 1).")
    nesterov: BoolArg | None = Field(None, description="sgd: Nesterov momentum.")
    rho: FloatArg | None = Field(
        None, description="rmsprop, adadelta: decay of the moving average of squared gradients, in [0, 1)."
    )
    centered: BoolArg | None = Field(
        None, description="rmsprop: normalise by the gradient's estimated variance."
    )
    initial_accumulator_value: FloatArg | None = Field(
        None, description="adagrad, ftrl: the accumulators' starting value (>= 0)."
    )
    learning_rate_power: FloatArg | None = Field(
        None, description="ftrl: how the rate shrinks during training (<= 0)."
    )
    l1_regularization_strength: FloatArg | None = Field(None, description="ftrl: L1 strength (>= 0).")
    l2_regularization_strength: FloatArg | None = Field(None, description="ftrl: L2 strength (>= 0).")
    l2_shrinkage_regularization_strength: FloatArg | None = Field(
        None, description="ftrl: L2 shrinkage strength (>= 0)."
    )
    beta: FloatArg | None = Field(None, description="ftrl: the beta value (>= 0).")
    beta_2_decay: FloatArg | None = Field(
        None, description="adafactor: decay rate of the second moment (<= 0)."
    )
    epsilon_1: FloatArg | None = Field(
        None, description="adafactor: the regularisation constant for the squared gradient (> 0)."
    )
    epsilon_2: FloatArg | None = Field(
        None, description="adafactor: the regularisation constant for the parameter scale (> 0)."
    )
    clip_threshold: FloatArg | None = Field(
        None, description="adafactor: the update's clipping threshold (> 0)."
    )
    relative_step: BoolArg | None = Field(
        None, description="adafactor: scale the rate by the step when no learning rate is set."
    )
    clipnorm: FloatArg | None = Field(None, description="Clip each weight's gradient to this norm (> 0).")
    clipvalue: FloatArg | None = Field(
        None, description="Clip each gradient value to [-clipvalue, clipvalue] (> 0)."
    )

    def arguments(self) -> dict[str, object]:
        """The arguments set (the rest keep Keras' defaults)."""
        return {k: v for k, v in self if k not in ("name", "per_optimizer") and v is not None}


class OptimizerArguments(_OptimizerArguments):
    """One optimizer's own arguments under `per_optimizer`: given to it only when `name:` chooses
    it, over the common ones."""

    learning_rate: FloatArg | None = Field(
        None, description="A number or `$name` (a schedule is common to every optimizer)."
    )


class OptimizerSpec(_OptimizerArguments):
    """Optimizer and its arguments; which arguments fit which optimizer is checked, with hints."""

    name: StrArg = Field(
        "adam",
        description="A Keras optimizer (`adam`, `sgd`, `rmsprop`, ...) or `$name` of a choice of them.",
    )
    learning_rate: LearningRate | None = Field(
        None,
        description="A number, `$name`, or a schedule `{schedule: exponential_decay, "
        "initial_learning_rate: ..., ...}`. Unset: the optimizer's own Keras default (0.01 for sgd, "
        "0.001 for adam).",
    )
    per_optimizer: dict[str, OptimizerArguments] = Field(
        default_factory=dict,
        description="Arguments for one optimizer only (`{rmsprop: {momentum: $m}}`): given when "
        "`name:` is that optimizer, over the common ones; the others never see them.",
    )


class LossSpec(Strict):
    """A loss and its arguments, each tunable; which arguments fit which loss is checked, and an
    argument left unset keeps Keras' default. Self-contained: one per output of a model."""

    name: str = Field(
        description="A Keras loss (`huber`, `binary_focal_crossentropy`, ...) or a name under "
        "`custom_objects.losses`."
    )
    from_logits: BoolArg | None = Field(
        None, description="The model outputs logits (no final softmax/sigmoid). Crossentropies."
    )
    label_smoothing: FloatArg | None = Field(
        None, description="In [0, 1): softens the targets. Dense-label crossentropies."
    )
    axis: IntArg | None = Field(None, description="The class (or reduction) axis; Keras: -1.")
    ignore_class: IntArg | None = Field(
        None, description="sparse_categorical_crossentropy: a label id that adds no loss."
    )
    alpha: FloatArg | None = Field(
        None, description="Focal losses: the class weighting factor; tversky: the false-positive weight."
    )
    gamma: FloatArg | None = Field(None, description="Focal losses: the focusing parameter (>= 0).")
    apply_class_balancing: BoolArg | None = Field(
        None, description="binary_focal_crossentropy: weight the classes by `alpha`."
    )
    beta: FloatArg | None = Field(None, description="tversky: the false-negative weight.")
    delta: FloatArg | None = Field(None, description="huber: where the loss turns from quadratic to linear.")
    q: FloatArg | None = Field(
        None, description="categorical_generalized_cross_entropy: the noise parameter in (0, 1)."
    )

    def arguments(self) -> dict[str, object]:
        """The arguments set (the rest keep Keras' defaults)."""
        return {k: v for k, v in self if k != "name" and v is not None}


class MetricSpec(Strict):
    """A metric and its arguments, each tunable; which arguments fit which metric is checked, and
    an argument left unset keeps Keras' default. `alias` is the name it is logged under
    (`val_<alias>` for an objective). Self-contained: one list per output of a model."""

    name: str = Field(
        description="A Keras metric (`auc`, `precision`, `f1_score`, ...) or a name under "
        "`custom_objects.metrics`."
    )
    alias: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        description="Keras' `name=`: the logged name (`val_<alias>`); unset: the metric's own.",
    )
    thresholds: FloatArg | None = Field(None, description="precision/recall: the decision threshold.")
    top_k: IntArg | None = Field(None, description="precision/recall: count only the k highest scores.")
    class_id: IntArg | None = Field(None, description="precision/recall: the one class measured.")
    curve: StrArg | None = Field(None, description="auc: `ROC` or `PR`.")
    num_thresholds: IntArg | None = Field(None, description="auc: thresholds of the curve (> 1).")
    summation_method: StrArg | None = Field(
        None, description="auc: `interpolation`, `minoring` or `majoring`."
    )
    multi_label: BoolArg | None = Field(None, description="auc: one curve per label, averaged.")
    num_labels: IntArg | None = Field(None, description="auc with multi_label: the number of labels.")
    from_logits: BoolArg | None = Field(None, description="auc, crossentropies: outputs are logits.")
    average: StrArg | None = Field(None, description="f1_score/fbeta_score: `micro`, `macro`, `weighted`.")
    beta: FloatArg | None = Field(None, description="fbeta_score: the weight of recall.")
    threshold: FloatArg | None = Field(
        None, description="f1_score/fbeta_score/binary_accuracy: the decision threshold."
    )
    k: IntArg | None = Field(None, description="top-k accuracies: how many top scores count.")
    class_aggregation: StrArg | None = Field(
        None, description="r2_score: `uniform_average` or `variance_weighted_average`."
    )
    num_regressors: IntArg | None = Field(None, description="r2_score: for the adjusted R².")
    label_smoothing: FloatArg | None = Field(None, description="crossentropy metrics.")
    ignore_class: IntArg | None = Field(None, description="sparse_categorical_crossentropy.")
    axis: IntArg | None = Field(None, description="crossentropy metrics: the class axis.")

    def arguments(self) -> dict[str, object]:
        """The arguments set (the rest keep Keras' defaults); `alias` is not one."""
        return {k: v for k, v in self if k not in ("name", "alias") and v is not None}

    def logged_name(self) -> str:
        """The key Keras logs it under: the alias, a known metric's own name, or the name."""
        if self.alias is not None:
            return self.alias
        return kn.METRICS[self.name][0] if self.name in kn.METRICS else self.name

    def direction(self) -> kn.Direction | None:
        """Better when higher or lower, for a metric ktrun knows (None: one of your own)."""
        return kn.METRICS[self.name][1] if self.name in kn.METRICS else None


#: Metrics as names, or `{name: ..., <its arguments>, alias: ...}` mappings.
MetricList = list[Annotated[MetricSpec, BeforeValidator(_name_only, json_schema_input_type=str | MetricSpec)]]


class CompileSpec(Strict):
    """Keras' `model.compile`: the optimizer, the loss and the metrics."""

    optimizer: Annotated[
        OptimizerSpec, BeforeValidator(_name_only, json_schema_input_type=str | OptimizerSpec)
    ] = Field(
        OptimizerSpec(),
        description="An optimizer name (`adam`) or `{name: ..., learning_rate: ..., <its arguments>}`.",
    )
    loss: Annotated[LossSpec, BeforeValidator(_name_only, json_schema_input_type=str | LossSpec)] = Field(
        LossSpec(name="sparse_categorical_crossentropy"),
        description="A loss name (`sparse_categorical_crossentropy`) or `{name: ..., <its arguments>}`.",
    )
    metrics: MetricList = Field(
        default_factory=lambda: [MetricSpec(name="accuracy")],
        description="Names, or `{name: ..., <its arguments>, alias: ...}` mappings.",
    )


ImportPath = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$",
        description="`package.module:Name`, imported when the first model is built, never by `check`.",
    ),
]


CustomSection = Literal["layers", "losses", "metrics", "activations", "loaders"]
CUSTOM_SECTIONS: tuple[CustomSection, ...] = ("layers", "losses", "metrics", "activations", "loaders")


class CustomObjectsSpec(Strict):
    """The explicit opt-in for Python code of your own: nothing else in a config is imported."""

    paths: list[str] = Field(
        default_factory=lambda: ["."],
        description="Directories put on `sys.path` before importing, relative to the working directory.",
    )
    layers: dict[HpNameKey, ImportPath] = Field(
        default_factory=dict, description="Layer classes, by the name `type: custom` layers use."
    )
    losses: dict[HpNameKey, ImportPath] = Field(
        default_factory=dict,
        description="Loss functions or classes, by the name `loss.name` uses (a class gets the "
        "loss arguments set).",
    )
    metrics: dict[HpNameKey, ImportPath] = Field(
        default_factory=dict,
        description="Metric functions or classes, by the name a `metrics` entry uses; logged "
        "under that name (or its alias).",
    )
    activations: dict[HpNameKey, ImportPath] = Field(
        default_factory=dict, description="Activation functions, by the name an `activation:` uses."
    )
    loaders: dict[HpNameKey, ImportPath] = Field(
        default_factory=dict,
        description="Data loaders, by the name `data.loader` uses (with `data.source: custom`).",
    )

    def declared(self) -> Iterator[tuple[CustomSection, str, str]]:
        """(section, name, `package.module:attr`) of every declaration."""
        for section in CUSTOM_SECTIONS:
            for name, target in getattr(self, section).items():
                yield section, name, target

    def search_dirs(self) -> list[str]:
        """`paths` as absolute directories: where the check looks and the builder imports from."""
        return [str(Path(p).resolve()) for p in self.paths]

    def resolve(self, section: CustomSection, name: str) -> Any:
        """Import one declared entry: the only place a config makes ktrun import code of yours
        (the builder's and the run's, never `check`'s)."""
        import importlib
        import sys

        for path in reversed(self.search_dirs()):
            if path not in sys.path:
                sys.path.insert(0, path)
        module, _, attr = getattr(self, section)[name].partition(":")
        return getattr(importlib.import_module(module), attr)


#: The model's one input when `model.inputs` names none (what `inputs:` of a layer calls it).
DEFAULT_INPUT = "input"
LayerName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


class InputSpec(Strict):
    """One named model input: which array feeds it."""

    array: str | None = Field(
        None,
        description="npz: the array that feeds this input; csv: the column (default: its name).",
    )
    columns: list[str] | None = Field(
        None,
        min_length=1,
        description=(
            "csv: the numeric columns that feed this input, in order. Unset, an input whose name "
            "(or `array`) is no column takes every numeric column no other input reads."
        ),
    )
    shape: list[int] | None = Field(
        None, min_length=1, description="Per-sample shape; read from the data if unset."
    )


class OutputSpec(Strict):
    """One model output: the layer that makes it, its labels, and how it is scored."""

    layer: LayerName = Field(description="The `name` of the layer whose output this is.")
    target: str | None = Field(
        None, description="data.source npz: the array of its labels (default: the layer's name)."
    )
    loss: Annotated[LossSpec, BeforeValidator(_name_only, json_schema_input_type=str | LossSpec)] | None = (
        Field(None, description="Unset: model.compile.loss.")
    )
    loss_weight: float = Field(1.0, ge=0.0, description="Its share of the total loss Keras minimises.")
    metrics: MetricList | None = Field(None, description="Unset: model.compile.metrics.")


def _layer_only(v: object) -> object:
    """`outputs: [price]` is shorthand for `outputs: [{layer: price}]`."""
    return {"layer": v} if isinstance(v, str) else v


def _layers_or_hypermodel(schema: dict[str, Any]) -> None:
    """The JSON Schema says what the validators do: `layers` or `hypermodel`, one of the two."""
    schema["required"] = [k for k in schema.get("required", []) if k != "layers"]
    schema["oneOf"] = [{"required": ["layers"]}, {"required": ["hypermodel"]}]


class ModelSpec(Strict):
    """The model: your `layers`, or a Keras Tuner `hypermodel` (one of the two)."""

    model_config = ConfigDict(json_schema_extra=_layers_or_hypermodel)

    input_shape: list[int] | None = Field(
        None, min_length=1, description="Per-sample input shape; inferred from the data if unset."
    )
    hypermodel: HyperModelSpec | None = Field(
        None,
        description=(
            "A Keras Tuner HyperModel (HyperResNet, HyperXception, HyperEfficientNet) instead of "
            "`layers`: its own network, search space and compile."
        ),
    )
    inputs: dict[LayerName, InputSpec] = Field(
        default_factory=dict,
        description=(
            "Named inputs, for models that read several arrays; unset: one input, `input`, "
            "fed by the data's features."
        ),
    )
    layers: list[Layer] = Field(description="The layers, in order; not with `hypermodel`.")
    outputs: list[
        Annotated[OutputSpec, BeforeValidator(_layer_only, json_schema_input_type=str | OutputSpec)]
    ] = Field(
        default_factory=list,
        description=(
            "The layers whose outputs the model returns, each with its labels and loss; "
            "unset: the last layer."
        ),
    )
    compile: CompileSpec = Field(CompileSpec(), description="The optimizer, the loss and the metrics.")

    @model_validator(mode="before")
    @classmethod
    def _no_layers_with_hypermodel(cls, data: object) -> object:
        """A HyperModel builds its own layers and compiles itself: neither is given with it."""
        if not isinstance(data, dict) or data.get("hypermodel") is None:
            return data
        given = [k for k in ("layers", "inputs", "outputs", "compile") if k in data]
        if given:
            raise PydanticCustomError(
                "hypermodel_with_layers",
                "model.hypermodel builds and compiles its own model, so model.{keys} cannot be given with it",
                {"keys": " and model.".join(given)},
            )
        return {**data, "layers": []}

    @field_validator("layers", mode="after")
    @classmethod
    def _some_layers(cls, layers: list[Any], info: ValidationInfo) -> list[Any]:
        if not layers and info.data.get("hypermodel") is None:
            raise PydanticCustomError("too_short", "List should have at least 1 item after validation, not 0")
        return layers

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.inputs) or (DEFAULT_INPUT,)


# ---------------------------------------------------------------- fit


class EarlyStoppingSpec(Strict):
    """Keras' EarlyStopping in every trial: stop training once `monitor` stops improving."""

    monitor: str = Field("val_loss", description="The logged metric watched, e.g. `val_accuracy`.")
    patience: int = Field(3, ge=0, description="Epochs without improvement before training stops.")
    mode: Literal["auto", "min", "max"] = Field(
        "auto", description="Whether `monitor` improves by going down (min) or up (max); auto: by its name."
    )
    min_delta: float = Field(0.0, ge=0.0, description="The least change that counts as an improvement.")
    restore_best_weights: bool = Field(True, description="End with the weights of the best epoch.")


class ReduceLrSpec(Strict):
    """Keras' ReduceLROnPlateau in every trial: lower the learning rate once `monitor` stalls."""

    monitor: str = Field("val_loss", description="The logged metric watched, e.g. `val_loss`.")
    factor: float = Field(0.5, gt=0.0, lt=1.0, description="The rate is multiplied by this, in (0, 1).")
    patience: int = Field(2, ge=0, description="Epochs without improvement before the rate is lowered.")
    min_lr: float = Field(0.0, ge=0.0, description="The rate is never lowered below this.")


class CrossValidationSpec(Strict):
    """k-fold cross-validation: every trial trains once per fold; its score is the folds' mean."""

    folds: int | None = Field(
        None,
        ge=2,
        description=(
            "k: the training rows are split into k folds (stratified by class for classification, "
            "seeded by experiment.seed); each fold is held out once for validation. Replaces "
            "data.validation_split. null: no cross-validation."
        ),
    )


class FitSpec(Strict):
    """How each trial trains (Keras' `model.fit`)."""

    epochs: CountArg = Field(5, description="Epochs each trial trains, >= 1; `$name` to tune it.")
    batch_size: IntArg = Field(32, description="Samples per gradient step, >= 1; tunable.")
    shuffle: BoolArg = Field(True, description="Shuffle the training data before each epoch; tunable.")
    class_weight: StrArg | None = Field(
        None,
        description=(
            "`balanced`: weight each class by n / (classes × its count) in the training split, "
            "so rare classes count as much as common ones; `none` (or unset): equal weights. Tunable."
        ),
    )
    verbose: Literal[0, 1, 2] = Field(
        0, description="Keras' own progress output per trial: 0 none, 1 a progress bar, 2 a line per epoch."
    )
    mixed_precision: bool = Field(
        False,
        description="Compute in 16 bits, weights and outputs in 32: float16 with loss scaling on a GPU, "
        "bfloat16 on a CPU (about half the activation memory; faster where the hardware has 16-bit units).",
    )
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="`{monitor: val_accuracy, patience: 3}`: stop a trial that stops improving."
    )
    reduce_lr_on_plateau: ReduceLrSpec | None = Field(
        None, description="`{monitor: val_loss, factor: 0.5}`: lower the learning rate when it stalls."
    )
    cross_validation: CrossValidationSpec = Field(
        default_factory=CrossValidationSpec,
        description=(
            "`{folds: k}` (k >= 2): score each trial by k-fold cross-validation (the mean of the folds' "
            "best-epoch objective) instead of one validation split; normalisation and adapted "
            "layers are fitted on each fold's training rows only."
        ),
    )

    @property
    def folds(self) -> int | None:
        """`cross_validation.folds`: None without cross-validation."""
        return self.cross_validation.folds


# ---------------------------------------------------------------- objective, tuner, policy


class ObjectiveSpec(Strict):
    name: str = Field(
        "val_accuracy",
        description="A metric the model logs, or (after the first, in a list) `params` or `flops`.",
    )
    direction: kn.Direction | None = Field(
        None, description="min or max; inferred for known metrics (an explicit one must agree)."
    )


#: Objectives ktrun counts from each trial's shapes, without training (`ktrun.analysis.size`):
#: the weights and one sample's forward-pass FLOPs, both better smaller.
STATIC_OBJECTIVES: dict[str, kn.Direction] = {"params": "min", "flops": "min"}


class BestLimits(Strict):
    """`objective_best: {max: {params: 100000}}`: among the trials within these limits, the best
    by the first objective."""

    max: dict[str, float] = Field(
        default_factory=dict, description="Upper limits by objective name, e.g. `{params: 100000}`."
    )
    min: dict[str, float] = Field(
        default_factory=dict, description="Lower limits by objective name, e.g. `{val_accuracy: 0.9}`."
    )


#: Top-level keys that take one mapping or (on the command line) a list of them.
ONE_OR_LIST = ("objective",)


def _one_or_list(schema: dict[str, Any]) -> None:
    """`objective:` is one objective or a list of them: the JSON Schema says both."""
    one = {k: v for k, v in schema.items() if k not in ("default", "description", "title")}
    for key in list(schema):
        if key not in ("default", "description", "title"):
            del schema[key]
    schema["anyOf"] = [one, {"type": "array", "items": one, "minItems": 1}]


class PrunerSpec(Strict):
    """Stop trials plainly worse than their peers after a few epochs (`ktrun.runtime.pruning`)."""

    type: Literal["median", "percentile", "successive_halving"] = Field(
        description="median: below the median of earlier trials at the same epoch; percentile: below "
        "that percentile; successive_halving: only the top 1/reduction_factor go on at each rung."
    )
    percentile: float = Field(
        25.0, gt=0.0, lt=100.0, description="percentile: keep trials in this top percentage (median: 50)."
    )
    warmup_epochs: int = Field(1, ge=0, description="median/percentile: epochs before a trial can be pruned.")
    startup_trials: int = Field(
        3, ge=0, description="median/percentile: trials that end unpruned before any is pruned."
    )
    min_epochs: int = Field(1, ge=1, description="successive_halving: the first rung's epoch.")
    reduction_factor: int = Field(
        3, ge=2, description="successive_halving: rungs at min_epochs × factor^k; the top 1/factor go on."
    )


class WarmStartSpec(Strict):
    """Where a search starts from: points it trains first (`ktrun.checks.warm_start` holds them to
    the space) and an earlier search whose trials it learns from (read when the search starts)."""

    points: list[dict[str, Scalar]] = Field(
        default_factory=list,
        description="Each a value for every hyperparameter active at it, e.g. a known good "
        "configuration; trained first, in order, each counted against max_trials.",
    )
    search: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="The run directory of an earlier ktrun search with the same objective (or its "
        "trials.csv): its completed trials that fit this space are told to the algorithm as "
        "history, never trained again, spending no budget.",
    )


class _TunerSettings(Strict):
    """The search algorithm; each algorithm's own settings live in its own sub-section."""

    algorithm: AlgorithmName = Field(
        "random", description="The search algorithm; its own settings go under `tuner.<algorithm>`."
    )
    max_trials: int = Field(10, ge=1, description="Trials the search trains at most.")
    executions_per_trial: int = Field(
        1, ge=1, description="Times each trial's model is trained from scratch; its score is their mean."
    )
    time_limit: float | None = Field(
        None,
        gt=0,
        description="Seconds of wall time for the whole search, added up over its runs: no trial "
        "starts after it (a running one finishes). None: no limit.",
    )
    target_score: float | None = Field(
        None,
        description="Stop once a trial's objective reaches this (at least it for max, at most for min).",
    )
    patience: int | None = Field(
        None,
        ge=1,
        description="Stop after this many trials in a row (completed or pruned) not better than the best.",
    )
    pruner: PrunerSpec | None = Field(
        None,
        description="Prune trials by their per-epoch objective: {type: median}, {type: percentile, "
        "percentile: 25} or {type: successive_halving}. Not with hyperband or cross-validation.",
    )
    warm_start: WarmStartSpec | None = Field(
        None,
        description="{points: [{units: 64, ...}, ...]}: configurations trained first; {search: "
        "outputs/<experiment>/<run>}: an earlier search's trials as history.",
    )
    overwrite: bool = Field(False, description="Start over instead of resuming the same search.")
    state_dir: str = Field(
        "outputs/tuner_state",
        description=(
            "Where searches keep their state, keyed by experiment name and a fingerprint of the "
            "search-relevant config, so re-running a command resumes it."
        ),
    )

    def settings(self) -> Strict | None:
        """The chosen algorithm's own section (`tuner.<algorithm>`), when it has one."""
        section = getattr(self, self.algorithm, None)
        return section if isinstance(section, Strict) else None


class _FailureLimits(Strict):
    """What a failed trial does to the search, per failure class. Enforced at run time."""

    max_retries: int = Field(1, ge=0, description="Retries of a trial whose class says `retry`.")
    max_consecutive_failures: int = Field(
        3, ge=1, description="The search stops after this many failed trials in a row."
    )
    max_failed_fraction: float = Field(
        0.5, gt=0.0, le=1.0, description="The search stops once more than this fraction of its trials failed."
    )
    trial_timeout: float | None = Field(None, gt=0.0, description="Seconds; none = no limit.")
    oom_halves_batch: bool = Field(
        True,
        description="A trial retried after running out of memory (`oom: retry`) trains with half "
        "its batch size, halved again on each further retry (down to 1).",
    )

    def action(self, failure_class: str) -> FailureAction:
        """What `failure_policy.<failure_class>` says a trial of that class does."""
        action: FailureAction = getattr(self, failure_class)
        return action


# The sections and keys that come from a registry (one per algorithm, one per failure class) are
# added to the models here; mypy sees the fixed part, Pydantic, the JSON Schema and users see all.
if TYPE_CHECKING:
    TunerSpec = _TunerSettings
    FailurePolicySpec = _FailureLimits
else:
    TunerSpec = create_model(
        "TunerSpec",
        __base__=_TunerSettings,
        __module__=__name__,
        __doc__=_TunerSettings.__doc__,
        **{
            a.name: (a.settings, Field(a.settings(), description=f"Settings of `algorithm: {a.name}`."))
            for a in ALGORITHMS.values()
            if a.settings is not None
        },
    )
    _FailureActions = create_model(
        "_FailureActions",
        __base__=Strict,
        __module__=__name__,
        **{k.name: (FailureAction, Field(k.default, description=k.meaning)) for k in FAILURE_KINDS},
    )
    # Bases in this order put the actions first (Pydantic collects fields from the last base up).
    FailurePolicySpec = create_model(
        "FailurePolicySpec",
        __base__=(_FailureLimits, _FailureActions),
        __module__=__name__,
        __doc__=_FailureLimits.__doc__,
    )


class DistributedSpec(Strict):
    """Keras Tuner's chief/worker engine on this machine (gRPC on loopback)."""

    workers: int = Field(0, ge=0, le=16, description="0: one process; N: a chief and N workers.")
    restarts: int = Field(2, ge=0, description="Times a worker that died is restarted (same id).")


#: Trials per worker process before it is replaced (chosen from `make bench`: see the README).
RECYCLE_AFTER = 20


class RuntimeSpec(Strict):
    """Where trials run: in this process, or in worker processes that are replaced before their
    memory grows (TensorFlow keeps every trial's traced functions) and whose death fails only
    their trial (failure class `crash`)."""

    isolation: Literal["inprocess", "process"] = Field(
        "inprocess",
        description="inprocess: every trial in this process. process: trials in worker processes "
        "forked after TensorFlow is imported, recycled, a dead one's trial failed as `crash`.",
    )
    workers: int = Field(1, ge=1, le=64, description="isolation: process: trials at once, one per worker.")
    recycle_after: int = Field(
        RECYCLE_AFTER,
        ge=1,
        description="isolation: process: trials a worker runs before a fresh one replaces it.",
    )
    max_worker_memory: float | None = Field(
        None,
        gt=0,
        description="isolation: process: MB of resident memory above which a worker is replaced "
        "after its trial. None: only recycle_after.",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="isolation: process: TensorFlow threads per worker (intra- and inter-op). "
        "None: this machine's cores divided by workers.",
    )
    gpus: Literal["auto"] | list[int] = Field(
        "auto",
        description="isolation: process: the GPUs worker i may use, one each (i modulo their "
        "number), with memory growth on. auto: those nvidia-smi lists; []: none.",
    )


#: The tracking URIs ktrun logs to (`ktrun.checks.tracking` says why the others are refused): a
#: local SQLite file, an MLflow tracking server, or Databricks. For editors; `check` enforces it.
TRACKING_URI_MAX = 2000
TRACKING_URI_PATTERN = r"^(sqlite:///(?!:memory:$)\S+|https?://[^\s@/]+(/\S*)?|databricks(://[^\s/]+)?)$"


class MlflowSpec(Strict):
    """MLflow tracking (the `mlflow` extra): the search a parent run, each trial a child run."""

    tracking_uri: str = Field(
        description="Where runs go: `sqlite:///mlflow.db` (a local file, relative to the current "
        "directory), an MLflow server `http(s)://host:port`, or `databricks`. `check` never "
        "contacts it.",
        json_schema_extra={"pattern": TRACKING_URI_PATTERN, "maxLength": TRACKING_URI_MAX},
    )
    experiment_name: str | None = Field(
        None,
        min_length=1,
        description="The MLflow experiment the runs go to (created when missing). None: experiment.name.",
    )
    log_model: bool = Field(
        True,
        description="Log best_model.keras (and the final stage's model) as artifacts of the search's run.",
    )


class ReportSpec(Strict):
    tensorboard: bool = Field(
        False,
        description="Per-trial TensorBoard logs with the HParams view, in <run dir>/tensorboard.",
    )
    mlflow: MlflowSpec | None = Field(
        None,
        description="`{tracking_uri: sqlite:///mlflow.db}`: log the search and every trial to MLflow "
        "(params, per-epoch metrics, status, failure class, report files, best model). None: off.",
    )


class FinalSpec(Strict):
    """After the search: the score to report, from data the search never saw."""

    retrain: bool = Field(
        False,
        description=(
            "Rebuild the best trial's configuration, train it on the training and validation rows "
            "for the epochs at which its objective was best, and evaluate it once on the test split "
            "(data.test_split, data.test_path, or a built-in data set's own test set)."
        ),
    )


# ---------------------------------------------------------------- the whole experiment


class ExperimentSpec(Strict):
    """One search: what to tune, on which data, how to score it, and how to survive failures."""

    experiment: ExperimentInfo = Field(description="The search's name (used in paths) and seed.")
    data: DataSpec = Field(DataSpec(), description="Where the data comes from and how it is prepared.")
    hyperparameters: dict[str, Hyperparameter] = Field(
        default_factory=dict,
        description="The search space, by name: `{type: int | float | choice | boolean | fixed, ...}`; "
        "arguments refer to them as `$name`.",
    )
    constraints: list[str] = Field(
        default_factory=list,
        description="Expressions over hyperparameter names, e.g. `units_2 <= units_1`.",
    )
    model: ModelSpec = Field(description="The model each trial builds: its layers, inputs, outputs, compile.")
    fit: FitSpec = Field(FitSpec(), description="How each trial trains (Keras' model.fit).")
    objective: ObjectiveSpec = Field(
        ObjectiveSpec(),
        description=(
            "What the search optimises. A list (on the command line; `objectives:` in a file) "
            "gives several: Keras Tuner optimises the first, the results give their Pareto front."
        ),
        json_schema_extra=_one_or_list,
    )
    objectives: list[ObjectiveSpec] = Field(
        default_factory=list,
        description=(
            "Several objectives, the first a metric (what the search algorithm optimises; it "
            "replaces `objective`), the others metrics, `params` or `flops`. On the command line: "
            "`'objective=[{name: val_accuracy}, {name: params}]'`."
        ),
    )
    objective_best: Literal["first", "knee"] | BestLimits = Field(
        "first",
        description=(
            "Which trial of the Pareto front is `best`: `first` (best by the first objective), "
            "`knee` (nearest the ideal point, each objective scaled to the front's range) or "
            "limits `{max: {params: 100000}}`, then best by the first objective."
        ),
    )
    tuner: TunerSpec = Field(TunerSpec(), description="The search algorithm and its budget.")
    failure_policy: FailurePolicySpec = Field(
        FailurePolicySpec(), description="What a failed trial does to the search, per failure class."
    )
    report: ReportSpec = Field(ReportSpec(), description="What the search writes besides its results.")
    final: FinalSpec = Field(
        FinalSpec(), description="Retrain the best trial and score it on the test split."
    )
    distributed: DistributedSpec = Field(
        DistributedSpec(), description="Keras Tuner's chief/worker engine on this machine."
    )
    runtime: RuntimeSpec = Field(
        RuntimeSpec(), description="Where trials run: in this process or in worker processes."
    )
    custom_objects: CustomObjectsSpec = Field(
        CustomObjectsSpec(), description="Your own layers, losses, metrics, activations and loaders."
    )
    pin: dict[str, Scalar] = Field(
        default_factory=dict,
        description=(
            "Fix hyperparameters (or per-repetition instances such as `filters_2`) to one value; "
            "best_hparams.yaml uses it to retrain the best trial."
        ),
    )

    #: Where the user listed the objectives: `objectives` (a file) or `objective` (the override
    #: `objective=[...]`); the checks' key paths say it as it was written.
    _objectives_key: str = PrivateAttr("objectives")

    @model_validator(mode="wrap")
    @classmethod
    def _objective_list(
        cls, data: object, handler: ModelWrapValidatorHandler[ExperimentSpec]
    ) -> ExperimentSpec:
        """`objectives: [a, b]` (or `objective: [a, b]`): the first is `objective`, what Keras
        Tuner optimises; the whole list is the Pareto front's axes."""
        key = "objectives"
        if isinstance(data, dict):
            given, listed = data.get("objective"), data.get("objectives")
            if isinstance(given, list) and given:
                data, key = {**data, "objective": given[0], "objectives": given}, "objective"
            elif isinstance(listed, list) and listed:
                data = {**data, "objective": listed[0]}
        spec = handler(data)
        spec._objectives_key = key
        return spec

    @property
    def objectives_key(self) -> str:
        """`objectives`, or `objective` where the list was given as `objective=[...]`."""
        return self._objectives_key

    @property
    def all_objectives(self) -> list[ObjectiveSpec]:
        """Every objective, the first first (one for a single objective)."""
        return self.objectives or [self.objective]

    @model_validator(mode="before")
    @classmethod
    def _hypermodel_space(cls, data: object) -> object:
        """A HyperModel's hyperparameters are declared as its table says, before the user's: a
        user's entry of the same name replaces the table's (checks.hypermodels says which values)."""
        model = data.get("model") if isinstance(data, dict) else None
        hypermodel = model.get("hypermodel") if isinstance(model, dict) else None
        kind = HYPERMODELS.get(str(hypermodel.get("type"))) if isinstance(hypermodel, dict) else None
        if kind is None or not isinstance(data, dict):
            return data
        declared = data.get("hyperparameters")
        table = {k: v.model_dump(exclude_defaults=True) for k, v in kind.hyperparameters.items()}
        return {**data, "hyperparameters": {**table, **(declared if isinstance(declared, dict) else {})}}


__all__ = [
    "DEFAULT_INPUT",
    "BestLimits",
    "CompileSpec",
    "DataSpec",
    "EarlyStoppingSpec",
    "ExperimentInfo",
    "ExperimentSpec",
    "FailurePolicySpec",
    "FinalSpec",
    "FitSpec",
    "IntArg",
    "LossSpec",
    "MetricSpec",
    "MlflowSpec",
    "ModelSpec",
    "ObjectiveSpec",
    "OptimizerSpec",
    "RuntimeSpec",
    "ScheduleSpec",
    "TunerSpec",
]
