"""Preprocessing and augmentation layers for images (height, width, channels).

Rescaling keeps any shape; Resizing, CenterCrop and RandomCrop set height and width; the other
random augmentations (active in training only) keep the image's shape, and RandomGrayscale needs
1 or 3 channels (Keras' `rgb_to_grayscale` takes no others). Normalization keeps any shape; its
mean and variance are adapted to each trial's training split (`adapt_layers` in the builder, never
the validation data), unless they are given (Keras' `mean` and `variance`) or `adapt: false`
leaves them at Keras' start, mean 0 and variance 1: an identity, as in a published model that never
calls `adapt`. TextVectorization, adapted to text, is not here yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from ktrun.layers.base import LayerSpec, LayerType, keras_kwargs, product
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
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")

TYPES = (
    LayerType(spec=Rescaling, shape=same_shape),
    LayerType(
        spec=Normalization,
        shape=_normalized,
        kwargs=_normalization_kwargs,
        domains={"invert": BOOL, "adapt": BOOL, "mean": NUMBER, "variance": POSITIVE},
        params=_normalization_params,
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
