"""What a layer type is to ktrun, as one record: spec, argument domains, shape rule, construction.

Before, one type was spread over four modules nothing tied together, and a new one could get
its shape silently wrong. A `LayerType` holds every piece, and an incomplete one is refused when
its module is imported. The Keras construction is data (a class name under `keras.layers` and
the constructor's keyword arguments): only the builder imports Keras.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, TypeAdapter, WithJsonSchema, field_validator, model_validator

from ktrun.config.provenance import KeyPath
from ktrun.spec import keras_names as kn
from ktrun.spec.base import Condition, Strict
from ktrun.spec.domains import (
    CONSTRAINT,
    INITIALIZER,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    NUMBER,
    POSITIVE,
    Domain,
)
from ktrun.spec.refs import (
    NAME_PATTERN,
    REF_SCHEMA,
    SERIALIZER,
    FloatArg,
    HpRef,
    IntArg,
    SizeArg,
    StrArg,
    json_schema,
    validator,
)

if TYPE_CHECKING:
    from ktrun.layers.shape_math import Shape, ShapeFailure

#: A Keras activation, `$name`, or one of yours (custom_objects.activations): the schema takes any
#: name here and holds a config without its own activations to Keras' (`schema_export`).
Activation = Annotated[
    str | HpRef,
    validator("str"),
    SERIALIZER,
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(kn.ACTIVATIONS)},
                REF_SCHEMA,
                {
                    "type": "string",
                    "pattern": NAME_PATTERN,
                    "description": "One of your own, under custom_objects.activations.",
                },
            ]
        }
    ),
]
Initializer = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(kn.INITIALIZERS))
]
Padding = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(kn.CONV1D_PADDINGS))
]


ConstraintName = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(kn.CONSTRAINTS))
]


class Section(Strict):
    """An argument written as a mapping of its own (a regularizer, an initializer, a constraint):
    the argument checks read each key against `DOMAINS`, the key path ending in the key."""

    DOMAINS: ClassVar[Mapping[str, Domain]] = {}
    #: Keras' own name → the keys it takes (the keys besides `name` must be among them).
    ARGS: ClassVar[Mapping[str, frozenset[str]]] = {}
    KIND: ClassVar[str] = ""


class InitializerSpec(Section):
    """An initializer with its arguments, each tunable: `{name: random_normal, stddev: $s}` is
    `keras.initializers.RandomNormal(stddev=hp.Float("s", ...))`; unset ones keep Keras' defaults."""

    name: Initializer = Field(
        description="A Keras initializer (`random_normal`, `he_normal`, ...) or `$name`."
    )
    mean: FloatArg | None = Field(None, description="random_normal, truncated_normal: the mean.")
    stddev: FloatArg | None = Field(
        None, description="random_normal, truncated_normal: the standard deviation (> 0)."
    )
    minval: FloatArg | None = Field(None, description="random_uniform: the lower bound.")
    maxval: FloatArg | None = Field(None, description="random_uniform: the upper bound.")
    scale: FloatArg | None = Field(None, description="variance_scaling: the scaling factor (> 0).")
    mode: StrArg | None = Field(None, description="variance_scaling: `fan_in`, `fan_out` or `fan_avg`.")
    distribution: StrArg | None = Field(
        None, description="variance_scaling: `truncated_normal`, `untruncated_normal` or `uniform`."
    )
    gain: FloatArg | None = Field(None, description="orthogonal: the multiplicative factor (> 0).")
    seed: IntArg | None = Field(None, description="Seed of the random initializers (>= 0).")

    DOMAINS: ClassVar[Mapping[str, Domain]] = {
        "name": INITIALIZER,
        **dict.fromkeys(("mean", "minval", "maxval"), NUMBER),
        **dict.fromkeys(("stddev", "scale", "gain"), POSITIVE),
        "mode": Domain("str", "a variance scaling mode", names=kn.VARIANCE_SCALING_MODES),
        "distribution": Domain(
            "str", "a variance scaling distribution", names=kn.VARIANCE_SCALING_DISTRIBUTIONS
        ),
        "seed": NON_NEGATIVE_INT,
    }
    ARGS: ClassVar[Mapping[str, frozenset[str]]] = kn.INITIALIZER_ARGS
    KIND: ClassVar[str] = "initializer"


class ConstraintSpec(Section):
    """A weight constraint with its arguments, each tunable: `{name: max_norm, max_value: $m}` is
    `keras.constraints.MaxNorm(max_value=hp.Float("m", ...))`."""

    name: ConstraintName = Field(description="A Keras constraint (`max_norm`, `non_neg`, ...) or `$name`.")
    max_value: FloatArg | None = Field(None, description="max_norm, min_max_norm: the largest norm (> 0).")
    min_value: FloatArg | None = Field(None, description="min_max_norm: the smallest norm (>= 0).")
    rate: FloatArg | None = Field(
        None, description="min_max_norm: how far each update moves towards the range, in [0, 1]."
    )
    axis: SizeArg | None = Field(None, description="The axis (or axes) the norm is taken over.")

    DOMAINS: ClassVar[Mapping[str, Domain]] = {
        "name": CONSTRAINT,
        "max_value": POSITIVE,
        "min_value": NON_NEGATIVE,
        "rate": Domain("float", "a number in [0, 1]", lo=0, hi=1),
        "axis": Domain("int", "an axis"),
    }
    ARGS: ClassVar[Mapping[str, frozenset[str]]] = kn.CONSTRAINT_ARGS
    KIND: ClassVar[str] = "constraint"


#: `kernel_initializer: he_normal` (a name, or `$name` of a choice of names) or the section.
WeightInitializer = Initializer | InitializerSpec
#: `kernel_constraint: non_neg` or `{name: max_norm, max_value: 3}`.
WeightConstraint = ConstraintName | ConstraintSpec


class Regularizer(Section):
    """A weight penalty, Keras' `L1`, `L2` or `L1L2` by which strengths are set; each tunable
    (`kernel_regularizer: {l2: $l2}` is `keras.regularizers.L2(hp.Float("l2", ...))`)."""

    l1: FloatArg | None = Field(None, description="Strength of the L1 penalty.")
    l2: FloatArg | None = Field(None, description="Strength of the L2 penalty.")

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, data: object) -> object:
        """`l1` or `l2` alone is Keras' own by that name, at its default strength of 0.01."""
        return {data: 0.01} if data in ("l1", "l2") else data

    @model_validator(mode="after")
    def _one_strength(self) -> Regularizer:
        if self.l1 is None and self.l2 is None:
            raise ValueError("give l1, l2 or both, e.g. {l2: 1.0e-4}")
        return self

    DOMAINS: ClassVar[Mapping[str, Domain]] = dict.fromkeys(("l1", "l2"), NON_NEGATIVE)


def keras_regularizer(strengths: Mapping[str, Any]) -> dict[str, Any]:
    """A regularizer as Keras deserialises it (`keras.regularizers.get`): only the builder makes it."""
    given = {k: v for k, v in strengths.items() if v is not None}
    name = "L1L2" if len(given) == 2 else next(iter(given)).upper()
    return {"class_name": name, "config": given}


def keras_section(resolved: Mapping[str, Any]) -> dict[str, Any] | Any:
    """An initializer or constraint as Keras deserialises it (`keras.initializers.get` takes
    `{"class_name": "random_normal", "config": {...}}`); the name alone is Keras' by that name."""
    config = {k: v for k, v in resolved.items() if k != "name" and v is not None}
    return {"class_name": resolved["name"], "config": config} if config else resolved["name"]


_WEIGHTS = {
    "kernel": "the kernel (the main weights)",
    "bias": "the bias",
    "recurrent": "the recurrent kernel (state to state)",
    "depthwise": "the depthwise kernel",
    "pointwise": "the 1x1 pointwise kernel",
    "embeddings": "the embedding matrix",
}
#: What a layer argument means, by its name (`Type.name` where one type means something else by
#: it): the JSON Schema's descriptions of arguments the spec does not describe itself. Keras'
#: own meaning in each case; an unset argument keeps Keras' default.
ARGUMENTS: Mapping[str, str] = {
    **{
        f"{w}_initializer": f"How {what} starts: an initializer name (`glorot_uniform`, `he_normal`, "
        "`zeros`, ...), `$name`, or `{name: ..., <its arguments>}`."
        for w, what in _WEIGHTS.items()
    },
    **{
        f"{w}_regularizer": f"Penalty on {what}: `{{l1: ...}}`, `{{l2: ...}}` or both (each tunable), "
        "or `l1` / `l2` at 0.01."
        for w, what in _WEIGHTS.items()
    },
    **{
        f"{w}_constraint": f"Constraint on {what} after each update: a name (`non_neg`, `max_norm`, "
        "`unit_norm`, ...) or `{name: max_norm, max_value: 3}`."
        for w, what in _WEIGHTS.items()
    },
    "activity_regularizer": "Penalty on the layer's output: `{l1: ...}`, `{l2: ...}` or both.",
    "activation": "Activation applied to the output: a Keras activation (`relu`, `gelu`, `softmax`, "
    "...), one of yours under custom_objects.activations, or `$name`.",
    "units": "Number of output units (for a recurrent layer, the size of its state); >= 1.",
    "filters": "Number of output channels (convolution filters); >= 1.",
    "kernel_size": "Size of the convolution window: one for every spatial axis, or one per axis.",
    "strides": "Step of the window: one for every spatial axis, or one per axis; Keras: 1.",
    "padding": "`valid` (no padding) or `same` (zero-padded so the output has the input's size divided "
    "by the stride); Conv1D also `causal`.",
    "ZeroPadding1D.padding": "Zeros added on each side: one amount, or `[before, after]`.",
    "ZeroPadding2D.padding": "Zeros added on each side: one amount, one per axis, or "
    "`[before, after]` per axis.",
    "dilation_rate": "Spacing between the kernel's taps (a dilated convolution): one or one per axis; "
    "Keras: 1.",
    "use_bias": "Whether the layer adds a bias; Keras: true.",
    "output_padding": "Extra rows (and columns) added to one side of the output, one or one per axis; "
    "less than the stride.",
    "depth_multiplier": "Output channels per input channel of the depthwise step.",
    "pool_size": "Size of the pooling window: one for every spatial axis, or one per axis.",
    "rate": "Fraction of the inputs dropped while training, in [0, 1) (GaussianDropout: the drop "
    "probability its multiplicative noise stands for).",
    "dropout": "Fraction dropped while training, in [0, 1): of the inputs (recurrent layers) or of "
    "the attention scores (attention layers).",
    "recurrent_dropout": "Fraction of the recurrent state dropped while training, in [0, 1).",
    "return_sequences": "Output every time step (for a recurrent or per-step layer after it) or only "
    "the last; Keras: false.",
    "cropping": "Entries cut from each side: one amount, one per axis, or `[before, after]` per axis.",
    "size": "Upsampling factor: one for every axis, or one per axis.",
    "epsilon": "Added to the variance so it is never divided by zero.",
    "momentum": "Momentum of the moving mean and variance, in [0, 1].",
    "alpha": "Scale of the negative part: `alpha * (exp(x) - 1)` below zero.",
    "axis": "The axis it works along (softmax normalises over it, Concatenate joins along it); "
    "Keras: -1, the last.",
    "max_value": "Largest output value; unset: no limit.",
    "negative_slope": "Slope of the output below the threshold (0 for a plain ReLU).",
    "threshold": "Inputs below it are zeroed (or scaled by negative_slope).",
    "stddev": "Standard deviation of the zero-mean Gaussian noise added while training.",
    "scale": "Multiplies the input: `x * scale + offset`.",
    "offset": "Added after scaling: `x * scale + offset`.",
    "height": "Height of the output image in pixels (resized or cropped to it).",
    "width": "Width of the output image in pixels (resized or cropped to it).",
    "interpolation": "How pixels are resampled: `bilinear`, `nearest`, `bicubic`, ...",
    "RandomRotation.factor": "The rotation range as a fraction of a full turn: 0.1 rotates by up to "
    "±36°; `[low, high]` for an asymmetric range.",
    "RandomContrast.factor": "The contrast range: 0.2 scales contrast by a factor in [0.8, 1.2]; "
    "`[low, high]` for an asymmetric range.",
    "height_factor": "The range as a fraction of the height: zoom (RandomZoom) or shift "
    "(RandomTranslation); 0.1 is ±10%.",
    "width_factor": "The range as a fraction of the width: zoom (RandomZoom) or shift "
    "(RandomTranslation); unset for RandomZoom: as height_factor.",
    "mode": "`horizontal`, `vertical` or `horizontal_and_vertical`.",
    "output_dim": "Size of each embedding vector.",
    "num_heads": "Number of attention heads.",
    "key_dim": "Size of each attention head for query and key.",
    "value_dim": "Size of each attention head for value; unset: key_dim.",
    "use_scale": "Learn a scalar that scales the attention scores.",
}


def _describe_arguments(schema: dict[str, Any], cls: type[Any]) -> None:
    """Each argument the spec does not describe is described from `ARGUMENTS` (editors show it)."""
    props: dict[str, dict[str, Any]] = schema.get("properties", {})
    for key, prop in props.items():
        if "description" in prop:
            continue
        if key == "type":
            prop["description"] = "Selects this layer type."
            continue
        text = ARGUMENTS.get(f"{cls.__name__}.{key}", ARGUMENTS.get(key))
        if text is not None:
            prop["description"] = text


class LayerSpec(Strict):
    """Keys every layer takes; each type adds `type: Literal["<its name>"]` and its arguments."""

    model_config = ConfigDict(json_schema_extra=_describe_arguments)

    if TYPE_CHECKING:  # declared by each type as its Literal (first among its own keys)
        type: str

    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="Keras layer name: what `inputs:` and `model.outputs` refer to, shown in errors.",
    )
    inputs: list[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]] | None = Field(
        None,
        min_length=1,
        description=(
            "The layers (by `name`) or model inputs this layer reads; unset: the layer before it "
            "(the first model input for the first layer). Merge layers read several."
        ),
    )
    when: Condition | None = Field(None, description="Add this layer only under this condition.")
    first: dict[str, Annotated[Any, SERIALIZER]] | None = Field(
        None, description="Inside a repeat: arguments that differ on the first repetition."
    )
    last: dict[str, Annotated[Any, SERIALIZER]] | None = Field(
        None,
        description=(
            "Inside a repeat: arguments that differ on the last repetition, e.g. "
            "`last: {return_sequences: false}` for stacked LSTMs."
        ),
    )

    @field_validator("first", "last", mode="after")
    @classmethod
    def _own_arguments(cls, overrides: dict[str, Any] | None) -> dict[str, Any] | None:
        """Each override is one of this type's arguments, validated as that argument is."""
        if overrides is None:
            return None
        out: dict[str, Any] = {}
        for key, value in overrides.items():
            field = cls.model_fields.get(key)
            if field is None or key in POSITION_KEYS:
                args = sorted(set(cls.model_fields) - POSITION_KEYS)
                raise ValueError(f"`{key}` is not an argument of this layer type; it takes {', '.join(args)}")
            kind: Any = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            out[key] = TypeAdapter(kind).validate_python(value)
        return out

    def inner_layers(self) -> Iterator[tuple[tuple[str, ...], LayerSpec]]:
        """The layers a wrapper holds (`layer:`, also as `first:`/`last:` give it), by key path
        below this one: the checks read their arguments as any other layer's."""
        for key, value in self:
            if isinstance(value, LayerSpec):
                yield (key,), value
            elif key in ("first", "last") and value:
                for arg, v in value.items():
                    if isinstance(v, LayerSpec):
                        yield (key, arg), v


#: Keys of a layer that are not Keras arguments, so not something a repetition can change.
POSITION_KEYS = frozenset({"type", "name", "when", "first", "last", "inputs"})


class WeightedSpec(LayerSpec):
    """Keys of layers with a kernel and a bias: how they start, their penalties and constraints,
    and the penalty on the output."""

    kernel_initializer: WeightInitializer | None = None
    bias_initializer: WeightInitializer | None = None
    kernel_regularizer: Regularizer | None = None
    bias_regularizer: Regularizer | None = None
    activity_regularizer: Regularizer | None = None
    kernel_constraint: WeightConstraint | None = None
    bias_constraint: WeightConstraint | None = None


#: The domains of the names those keys take written alone (`kernel_initializer: he_normal`).
WEIGHT_DOMAINS: dict[str, Domain] = {
    **dict.fromkeys(("kernel_initializer", "bias_initializer"), INITIALIZER),
    **dict.fromkeys(("kernel_constraint", "bias_constraint"), CONSTRAINT),
}


#: Output shape from input shape; arguments resolved for one point (None where unknown).
ShapeRule = Callable[["ConcreteLayer", "Shape"], "Shape | ShapeFailure"]
#: Output shape from the input shapes of a layer that reads several (a merge, attention).
MergeRule = Callable[["ConcreteLayer", "tuple[Shape, ...]"], "Shape | ShapeFailure"]
#: How the builder calls the Keras layer on what it reads: one tensor, a list of tensors
#: (merges), or query and value as positional arguments (attention that is called that way).
CallStyle = Literal["one", "list", "query_value"]
#: Keyword arguments of the Keras constructor, from the layer as one point builds it.
KwargsRule = Callable[["ConcreteLayer"], dict[str, Any]]
#: The weights a layer holds, as Keras' `count_params` counts them (trainable or not), from the
#: shapes it reads and the shape it makes; None where ktrun cannot know (a backbone, your layer).
ParamRule = Callable[["ConcreteLayer", "tuple[Shape, ...]", "Shape"], "int | None"]


def no_weights(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    return 0


#: Floating-point operations of one sample's forward pass at inference, from the shapes the layer
#: reads and makes; None where ktrun cannot know (a backbone, your layer). The convention is TF's
#: profiler's (`ktrun.analysis.size` states it; the contract tests compare with the profiler):
#: a multiply-add is 2, a bias add or other elementwise arithmetic 1 per element, activation
#: functions 0.
FlopRule = Callable[["ConcreteLayer", "tuple[Shape, ...]", "Shape"], "int | None"]


def no_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """A layer that computes nothing at inference: it moves, drops or looks values up (a reshape,
    padding, dropout, an embedding, a random augmentation), or is an activation function."""
    return 0


def per_element(n: int) -> FlopRule:
    """`n` operations per output value (a scaling with an offset is 2)."""

    def rule(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
        count = product(out)
        return None if count is None else n * count

    return rule


def flag(layer: ConcreteLayer, name: str, default: bool) -> bool:
    """A boolean argument as this point builds it (Keras' default where it is unset)."""
    value = layer.args.get(name)
    return default if value is None else bool(value)


def product(dims: Iterable[int | None]) -> int | None:
    total = 1
    for d in dims:
        if d is None:
            return None
        total *= d
    return total


#: Keras takes these as tuples; YAML gives lists.
_TUPLE_ARGS = (
    "kernel_size",
    "strides",
    "pool_size",
    "dilation_rate",
    "target_shape",
    "size",
    "padding",
    "cropping",
)


def keras_kwargs(layer: ConcreteLayer, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The spec's arguments as Keras takes them: unset ones and keys only ktrun reads left out."""
    args = {k: v for k, v in layer.args.items() if v is not None and k not in drop}
    for key, value in args.items():
        if key.endswith("_regularizer") and isinstance(value, Mapping):
            args[key] = keras_regularizer(value)
        elif key.endswith(("_initializer", "_constraint")) and isinstance(value, Mapping):
            args[key] = keras_section(value)
    for key in _TUPLE_ARGS:
        if isinstance(args.get(key), list):
            value = args[key]
            if len(value) == 1 and isinstance(value[0], list):  # one axis's `[[before, after]]`
                value = value[0]
            args[key] = tuple(tuple(x) if isinstance(x, list) else x for x in value)
    if layer.index and "name" in args:  # one Keras name per repetition of a repeat block
        args["name"] = f"{args['name']}_{'_'.join(map(str, layer.index))}"
    return args


class LayerTypeError(TypeError):
    """A layer type declared without a piece the checks or the builder rely on."""


def _no_shape_rule(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    raise AssertionError("unreachable: LayerType refuses a type without a shape rule")


@dataclass(frozen=True, kw_only=True)
class LayerType:
    """One `type:` of `model.layers`, complete: nothing about it lives anywhere else."""

    spec: type[LayerSpec]
    #: Required (or `merge`): without it the shape checks would pass anything through this layer.
    shape: ShapeRule = _no_shape_rule
    #: For a layer that reads several inputs (`Add`, `Concatenate`, attention): their shapes in,
    #: output shape out. It takes the place of `shape`.
    merge: MergeRule | None = None
    #: How many inputs it reads: (least, most); `None` = no upper limit.
    arity: tuple[int, int | None] = (1, 1)
    call: CallStyle = "one"
    #: The class under `keras.layers` the builder instantiates (by default the one its `type`
    #: names) ...
    keras_class: str | None = None
    #: ... or the `custom_objects.layers` entry the spec names (the user's own class) ...
    custom_object: Callable[[Any], str] | None = None
    #: ... or the constructor under `keras.applications` the layer names (a whole network,
    #: which the builder makes for the input shape it receives).
    keras_application: Callable[[ConcreteLayer], str] | None = None
    kwargs: KwargsRule = keras_kwargs
    #: What each argument may take (check 2); an argument absent here is not range-checked.
    domains: Mapping[str, Domain] = field(default_factory=dict)
    #: Arguments that decide output shapes: the shape check enumerates the values they take.
    shape_args: tuple[str, ...] = ()
    #: Those of `shape_args` that only set an output size, which no rule rejects unless a
    #: layer with `reads_sizes` follows: elsewhere the checks need not enumerate them.
    size_args: tuple[str, ...] = ()
    #: Its rule can fail on the sizes it receives (Reshape), not only on ranks and extents.
    reads_sizes: bool = False
    #: The boolean argument that keeps the time axis in its output (`return_sequences`): when
    #: the layer after it needs a sequence and gets none, the hint names this argument. A wrapper
    #: names its wrapped layer's: `layer.return_sequences`.
    sequence_arg: str | None = None
    #: Its weights (`count_params`): a layer without any (pooling, dropout, merges) keeps the
    #: default; `tests/contracts/test_keras_tables.py` compares every type's count with Keras'.
    params: ParamRule = no_weights
    #: Its floating-point operations per sample (`FlopRule`); the default, `no_flops`, is for a
    #: layer that computes nothing at inference, and the contract tests list every type that keeps
    #: it, so a new type cannot fall to 0 unnoticed.
    flops: FlopRule = no_flops
    #: Those of `shape_args` that decide no shape for this layer as written (a `same`-padded
    #: convolution's kernel): the feasibility walk need not tell their values apart.
    inert: Callable[[Any], tuple[str, ...]] = lambda spec: ()

    def __post_init__(self) -> None:
        where = f"layer type `{self.type}` ({self.spec.__module__})"
        if (self.shape is _no_shape_rule) == (self.merge is None):
            raise LayerTypeError(
                f"{where} needs one shape rule: `shape=` (one input) or `merge=` (several); "
                "without one the static checks would let any shape through it unchecked"
            )
        constructions = (self.keras_class, self.custom_object, self.keras_application)
        if sum(c is not None for c in constructions) > 1:
            raise LayerTypeError(
                f"{where} takes one Keras construction: `keras_class=` (a class of keras.layers, "
                "by default its type), `custom_object=` (an entry of custom_objects.layers) or "
                "`keras_application=` (a constructor of keras.applications)"
            )
        if all(c is None for c in constructions):
            object.__setattr__(self, "keras_class", self.type)
        sequence = [self.sequence_arg.partition(".")[0]] if self.sequence_arg else []
        named = {*self.domains, *self.shape_args, *sequence}
        unknown = sorted(named - set(self.spec.model_fields))
        if unknown:
            raise LayerTypeError(f"{where}: {unknown} are not arguments of its spec")
        if not set(self.size_args) <= set(self.shape_args):
            raise LayerTypeError(f"{where}: size_args must be among its shape_args")

    @property
    def type(self) -> str:
        """The `type:` value, from the spec's `Literal` (one source for both)."""
        field_info = self.spec.model_fields.get("type")
        annotation = field_info.annotation if field_info is not None else None
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) is not typing.Literal or len(args) != 1:
            raise LayerTypeError(f'{self.spec.__qualname__} needs `type: Literal["<name>"]`')
        return str(args[0])


def build_registry(types: Iterable[LayerType], reserved: Iterable[str] = ()) -> dict[str, LayerType]:
    """Layer types by `type`; a name used twice (or taken, like `repeat`) is refused."""
    registry: dict[str, LayerType] = {}
    taken = set(reserved)
    for t in types:
        if t.type in taken:
            raise LayerTypeError(f"layer type `{t.type}` is taken by a block ({t.spec.__module__})")
        if t.type in registry:
            raise LayerTypeError(f"layer type `{t.type}` is registered twice ({t.spec.__module__})")
        registry[t.type] = t
    return registry


@dataclass(frozen=True)
class ConcreteLayer:
    """A layer as one trial builds it: references replaced by the point's values."""

    layer: LayerSpec
    args: dict[str, Any]
    path: KeyPath
    index: tuple[int, ...] = ()
    refs: tuple[str, ...] = ()  # the hyperparameter instances its arguments read
    #: Its node in the model's graph (its Keras name when it has one), and the nodes it reads.
    node: str = ""
    inputs: tuple[str, ...] = ()

    @cached_property
    def kind(self) -> LayerType:
        """Its registered type: the shape rule and the Keras construction (looked up once: the
        shape walk asks for it per layer and point)."""
        from ktrun.layers import REGISTRY  # the registry is built from the modules that use this class

        return REGISTRY[self.layer.type]

    def sequence_holder(self) -> tuple[ConcreteLayer, str] | None:
        """The layer (this one or the one it wraps) and argument that keep the time axis."""
        arg = self.kind.sequence_arg
        if arg is None:
            return None
        key, _, inner = arg.partition(".")
        wrapped = self.args.get(key)
        if not inner:
            return self, key
        return (wrapped, inner) if isinstance(wrapped, ConcreteLayer) else None

    @property
    def label(self) -> str:
        rep = f" (repetition {'.'.join(map(str, self.index))})" if self.index else ""
        return f"{self.layer.type} at model.layers.{'.'.join(map(str, self.path[2:]))}{rep}"
