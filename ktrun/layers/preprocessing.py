"""Preprocessing and augmentation layers for images (height, width, channels).

Rescaling keeps any shape; Resizing, CenterCrop and RandomCrop set height and width; the other
random augmentations (active in training only) keep the image's shape, and RandomGrayscale needs
1 or 3 channels (Keras' `rgb_to_grayscale` takes no others). Normalization keeps any shape; its
mean and variance are adapted to each trial's training split (`adapt_layers` in the builder, never
the validation data), unless they are given (Keras' `mean` and `variance`) or `adapt: false`
leaves them at Keras' start, mean 0 and variance 1: an identity, as in a published model that never
calls `adapt`. TextVectorization turns a string per sample (a csv text column, `data.columns`)
into token ids or token counts; its vocabulary is likewise adapted to each trial's training split.
CategoryEncoding turns ids (a csv categorical column) into one-hot, multi-hot or count rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from ktrun.layers.base import LayerSpec, LayerType, keras_kwargs, per_element, product
from ktrun.layers.core import same_shape
from ktrun.layers.shape_math import ShapeFailure, format_shape, size, spatial
from ktrun.spec.domains import BOOL, NON_NEGATIVE, NUMBER, POSITIVE, POSITIVE_INT, Domain
from ktrun.spec.refs import (
    SERIALIZER,
    BoolArg,
    FloatArg,
    HpRef,
    IntArg,
    SizeArg,
    StrArg,
    json_schema,
    validator,
)

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


#: A number, or a list of numbers (one per feature), each a literal or `$name`.
FloatOrList = Annotated[
    float | HpRef | list[float | HpRef],
    validator("float", allow_list=True),
    SERIALIZER,
    json_schema("float", allow_list=True),
]


class Rescaling(LayerSpec):
    type: Literal["Rescaling"]
    scale: FloatArg
    offset: FloatArg = 0.0


class Normalization(LayerSpec):
    """Feature-wise (x - mean) / sqrt(variance), both learnt from the training split before
    each trial trains (Keras' `adapt`): no statistics of the validation data leak into it. Given
    `mean` and `variance` (Keras' own arguments), nothing is learnt."""

    type: Literal["Normalization"]
    axis: SizeArg = Field(-1, description="The axis (or axes) that keep their own mean: features.")
    invert: BoolArg = Field(False, description="Undo the normalization instead (x * std + mean).")
    mean: FloatOrList | None = Field(
        None,
        description="A number, or one per feature of the (last) kept axis; with `variance`, not adapted.",
    )
    variance: FloatOrList | None = Field(None, description="As `mean`: numbers > 0, given with it.")
    adapt: BoolArg | None = Field(
        None,
        description="Learn mean and variance from each trial's training split (the default without "
        "`mean`/`variance`); `false` leaves Keras' mean 0 and variance 1: the layer changes nothing.",
    )


class TextVectorization(LayerSpec):
    """Strings to token ids (`output_mode: int`) or to one value per vocabulary entry; the
    vocabulary is learnt from the training split before each trial trains (Keras' `adapt`).
    Ids 0 (padding) and 1 (out of vocabulary) are reserved, so an Embedding after it needs
    `input_dim` >= `max_tokens`."""

    type: Literal["TextVectorization"]
    max_tokens: IntArg | None = Field(
        None, description="Vocabulary size, padding and out-of-vocabulary included (unset: no limit)."
    )
    output_mode: StrArg = Field(
        "int", description="int: a sequence of token ids; multi_hot, count or tf_idf: one value per token."
    )
    output_sequence_length: IntArg | None = Field(
        None, description="output_mode int: pad or cut each sequence to this length."
    )
    standardize: StrArg = Field(
        "lower_and_strip_punctuation",
        description="lower_and_strip_punctuation, lower, strip_punctuation or none.",
    )
    split: StrArg = Field("whitespace", description="whitespace, character or none.")
    ngrams: IntArg | None = Field(None, description="Also count runs of up to this many tokens.")
    pad_to_max_tokens: BoolArg = Field(
        False, description="multi_hot, count, tf_idf: always `max_tokens` values per sample."
    )


def _text_vectorized(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """One string per sample, () or (1,) (a csv text column), as Keras' symbolic shapes say:
    int mode drops the trailing 1 for the sequence axis; the other modes append one value per
    token, which is a known size only with `pad_to_max_tokens`."""
    if shape not in ((), (1,)):
        return ShapeFailure(
            "rank-mismatch",
            layer,
            f"TextVectorization reads one string per sample, () or (1,), but receives {format_shape(shape)}",
            "feed it a text column of the csv (data.columns: {name: text}) as a model input",
        )
    args = layer.args
    if args["output_mode"] == "int":
        return (size(args.get("output_sequence_length")),)
    if args["pad_to_max_tokens"] is not True or args.get("max_tokens") is None:
        return ShapeFailure(
            "text-vectorization-width",
            layer,
            f"TextVectorization with output_mode {args['output_mode']} gives as many values as the "
            "vocabulary it learns, which no layer after it can be built for",
            "set max_tokens and pad_to_max_tokens: true (max_tokens values per sample)",
            "pad_to_max_tokens",
        )
    return (*shape, size(args["max_tokens"]))


class CategoryEncoding(LayerSpec):
    """Integer ids (a csv's categorical column, 0 for unseen) as one-hot rows, or per sample as
    multi-hot or count rows: Keras' `StringLookup` → `CategoryEncoding` on a column, with the
    lookup done by `data.columns`."""

    type: Literal["CategoryEncoding"]
    num_tokens: IntArg = Field(description="How many ids: the largest + 1.")
    output_mode: StrArg = Field("multi_hot", description="one_hot, multi_hot or count.")


def _category_encoded(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """Keras' symbolic shapes: one_hot turns one id, () or (1,), into a row and k ids into k
    rows; multi_hot and count make one row of k ids."""
    tokens = size(layer.args["num_tokens"])
    if layer.args["output_mode"] == "one_hot" and len(shape) <= 1:
        return (tokens,) if shape in ((), (1,)) else (*shape, tokens)
    if len(shape) == 1:
        return (tokens,)
    return ShapeFailure(
        "rank-mismatch",
        layer,
        f"CategoryEncoding reads ids per sample, (1,) or (k,), but receives {format_shape(shape)}",
        "feed it a categorical column of the csv (data.columns: {name: categorical}) as a model input",
    )


def _text_vectorization_kwargs(layer: ConcreteLayer) -> dict[str, Any]:
    """`none` is Keras' None (no standardization, no split), which YAML's null cannot say here
    (an unset argument keeps Keras' default)."""
    kwargs = keras_kwargs(layer)
    for arg in ("standardize", "split"):
        if kwargs.get(arg) == "none":
            kwargs[arg] = None
    return kwargs


def _normalization_params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """An adapted mean and variance per kept axis (`axis`, counted with the batch axis, as Keras
    does) and a count; none when they are given as numbers."""
    if layer.args.get("mean") is not None or layer.args.get("adapt") is False:
        return 0  # given (or, not adapted, Keras' 0 and 1): constants, not weights
    full = (None, *given[0])
    axis = layer.args.get("axis", -1)
    axes = axis if isinstance(axis, list) else [axis]
    if not all(isinstance(a, int) and -len(full) <= a < len(full) for a in axes):
        return None
    kept = product(full[a] for a in axes)
    return None if kept is None else 2 * kept + 1


class Resizing(LayerSpec):
    type: Literal["Resizing"]
    height: IntArg
    width: IntArg
    interpolation: StrArg | None = None


class CenterCrop(LayerSpec):
    type: Literal["CenterCrop"]
    height: IntArg
    width: IntArg


class RandomFlip(LayerSpec):
    type: Literal["RandomFlip"]
    mode: StrArg = "horizontal_and_vertical"


class RandomRotation(LayerSpec):
    type: Literal["RandomRotation"]
    factor: FloatArg


class RandomZoom(LayerSpec):
    type: Literal["RandomZoom"]
    height_factor: FloatArg
    width_factor: FloatArg | None = None


class RandomTranslation(LayerSpec):
    type: Literal["RandomTranslation"]
    height_factor: FloatArg
    width_factor: FloatArg


class RandomContrast(LayerSpec):
    type: Literal["RandomContrast"]
    factor: FloatArg


#: A number, or a list of two (a lower and an upper bound), each a literal or `$name`.
FloatOrPair = FloatOrList


def _pair(value: object) -> object:
    if isinstance(value, list) and len(value) != 2:
        raise ValueError(f"give one number or a list of two (lower, upper), not {len(value)}")
    return value


class RandomBrightness(LayerSpec):
    type: Literal["RandomBrightness"]
    factor: FloatOrPair = Field(
        description="Brightness shift as a fraction of the value range: f is [-f, f]; [lo, hi] is itself."
    )
    value_range: FloatOrPair | None = Field(
        None, description="[low, high] of the pixel values the layer sees (Keras: [0, 255])."
    )

    @field_validator("factor", mode="after")
    @classmethod
    def _factor(cls, v: object) -> object:
        return _pair(v)

    @field_validator("value_range", mode="after")
    @classmethod
    def _range(cls, v: object) -> object:
        if v is not None and not isinstance(v, list):
            raise ValueError("give a list of two numbers, e.g. [0, 255] or [0, 1]")
        return _pair(v)


class RandomCrop(LayerSpec):
    type: Literal["RandomCrop"]
    height: IntArg
    width: IntArg


class RandomGrayscale(LayerSpec):
    type: Literal["RandomGrayscale"]
    factor: FloatArg = Field(0.5, description="The chance that an image is turned grey.")


def _resized(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    return (size(layer.args["height"]), size(layer.args["width"]), shape[-1])


def _grey(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    if shape[-1] in (1, 3, None):
        return shape
    return ShapeFailure(
        "image-channels",
        layer,
        f"{layer.layer.type} takes RGB (3 channels) or grey (1 channel) images, but receives "
        f"{format_shape(shape)}",
        "map the channels to 3 first, e.g. `{type: Conv2D, filters: 3, kernel_size: 1}`, or drop the layer",
    )


def _normalized(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """Same shape; a list of means (variances) has one per feature of the last kept axis, or
    one for all (Keras aligns it there and broadcasts)."""
    axis = layer.args["axis"]
    axes = [] if axis is None else axis if isinstance(axis, list) else [axis]
    rank = len(shape) + 1  # Keras counts the batch axis
    if not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        return shape
    keep = sorted(a % rank for a in axes)
    for arg in ("mean", "variance"):
        value = layer.args.get(arg)
        if not isinstance(value, list) or (keep and keep[-1] > 0 and len(value) == 1):
            continue
        if not keep or keep[-1] == 0:
            return ShapeFailure(
                "normalization-stats",
                layer,
                f"Normalization keeps no feature axis (axis: {axis}), but `{arg}` is a list",
                f"give `{arg}` one number, or set `axis` to the axis of the features (-1: the last)",
                arg,
            )
        width = shape[keep[-1] - 1]
        if width is not None and len(value) != width:
            return ShapeFailure(
                "normalization-stats",
                layer,
                f"`{arg}` has {len(value)} values, but the feature axis (axis: {axis}) of "
                f"{format_shape(shape)} has {width}",
                f"give one number for all, or {width} (one per feature)",
                arg,
            )
    return shape


def _normalization_kwargs(layer: ConcreteLayer) -> dict[str, Any]:
    """`adapt: false` without statistics is Keras' un-adapted layer: mean 0, variance 1 (given, so
    `adapt_layers` leaves it alone, as it does any layer given its mean and variance)."""
    kwargs = keras_kwargs(layer, drop=("adapt",))
    if layer.args.get("adapt") is False and kwargs.get("mean") is None:
        kwargs.update(mean=0.0, variance=1.0)
    return kwargs


_IMAGE = spatial(2, same_shape)
_FACTOR = Domain("float", "a number in [0, 1]", lo=0, hi=1)
_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
_TEXT_MODES = ("int", "multi_hot", "count", "tf_idf")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation", "none")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")

TYPES = (
    LayerType(spec=Rescaling, shape=same_shape, flops=per_element(2)),  # a scale and an offset
    LayerType(
        spec=Normalization,
        shape=_normalized,
        kwargs=_normalization_kwargs,
        domains={"invert": BOOL, "adapt": BOOL, "mean": NUMBER, "variance": POSITIVE},
        params=_normalization_params,
        flops=per_element(2),  # subtract the mean, divide by the deviation
    ),
    LayerType(
        spec=TextVectorization,
        shape=_text_vectorized,
        kwargs=_text_vectorization_kwargs,
        domains={
            "max_tokens": Domain("int", "an integer from 3 (padding, unknown, one token)", lo=3),
            "output_mode": Domain("str", "an output mode", names=_TEXT_MODES),
            "output_sequence_length": POSITIVE_INT,
            "standardize": Domain("str", "a standardization", names=_STANDARDIZE),
            "split": Domain("str", "a split", names=("whitespace", "character", "none")),
            "ngrams": POSITIVE_INT,
            "pad_to_max_tokens": BOOL,
        },
        shape_args=("output_mode", "output_sequence_length", "max_tokens", "pad_to_max_tokens"),
    ),
    LayerType(
        spec=CategoryEncoding,
        shape=_category_encoded,
        domains={
            "num_tokens": POSITIVE_INT,
            "output_mode": Domain("str", "an output mode", names=("one_hot", "multi_hot", "count")),
        },
        shape_args=("num_tokens", "output_mode"),
        size_args=(),
    ),
    LayerType(
        spec=Resizing,
        shape=spatial(2, _resized),
        domains={
            "height": POSITIVE_INT,
            "width": POSITIVE_INT,
            "interpolation": Domain("str", "an interpolation", names=_INTERPOLATIONS),
        },
        shape_args=("height", "width"),
    ),
    LayerType(
        spec=CenterCrop,
        shape=spatial(2, _resized),
        domains=dict.fromkeys(("height", "width"), POSITIVE_INT),
        shape_args=("height", "width"),
    ),
    LayerType(spec=RandomFlip, shape=_IMAGE, domains={"mode": Domain("str", "a flip mode", names=_MODES)}),
    LayerType(spec=RandomRotation, shape=_IMAGE, domains={"factor": NON_NEGATIVE}),
    LayerType(
        spec=RandomZoom, shape=_IMAGE, domains=dict.fromkeys(("height_factor", "width_factor"), _FACTOR)
    ),
    LayerType(
        spec=RandomTranslation,
        shape=_IMAGE,
        domains=dict.fromkeys(("height_factor", "width_factor"), _FACTOR),
    ),
    LayerType(spec=RandomContrast, shape=_IMAGE, domains={"factor": _FACTOR}),
    LayerType(
        spec=RandomBrightness,
        shape=_IMAGE,
        domains={"factor": Domain("float", "a number in [-1, 1]", lo=-1, hi=1), "value_range": NUMBER},
    ),
    LayerType(
        spec=RandomCrop,
        shape=spatial(2, _resized),
        domains=dict.fromkeys(("height", "width"), POSITIVE_INT),
        shape_args=("height", "width"),
    ),
    LayerType(spec=RandomGrayscale, shape=spatial(2, _grey), domains={"factor": _FACTOR}),
)
