"""Preprocessing and augmentation layers for images (height, width, channels).

Rescaling keeps any shape; Resizing, CenterCrop and RandomCrop set height and width; the other
random augmentations (active in training only) keep the image's shape, and RandomGrayscale needs
1 or 3 channels (Keras' `rgb_to_grayscale` takes no others). Normalization keeps any shape; its
mean and variance are adapted to each trial's training split (`adapt_layers` in the builder, never
the validation data). TextVectorization, adapted to text, is not here yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, field_validator

from ktrun.layers.base import LayerSpec, LayerType
from ktrun.layers.core import same_shape
from ktrun.layers.shape_math import ShapeFailure, format_shape, size, spatial
from ktrun.spec.domains import BOOL, NON_NEGATIVE, NUMBER, POSITIVE_INT, Domain
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


class Rescaling(LayerSpec):
    type: Literal["Rescaling"]
    scale: FloatArg
    offset: FloatArg = 0.0


class Normalization(LayerSpec):
    """Feature-wise (x - mean) / sqrt(variance), both learnt from the training split before
    each trial trains (Keras' `adapt`): no statistics of the validation data leak into it."""

    type: Literal["Normalization"]
    axis: SizeArg = Field(-1, description="The axis (or axes) that keep their own mean: features.")
    invert: BoolArg = Field(False, description="Undo the normalization instead (x * std + mean).")


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
FloatOrPair = Annotated[
    float | HpRef | list[float | HpRef],
    validator("float", allow_list=True),
    SERIALIZER,
    json_schema("float", allow_list=True),
]


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


_IMAGE = spatial(2, same_shape)
_FACTOR = Domain("float", "a number in [0, 1]", lo=0, hi=1)
_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")

TYPES = (
    LayerType(spec=Rescaling, shape=same_shape),
    LayerType(spec=Normalization, shape=same_shape, domains={"invert": BOOL}),
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
