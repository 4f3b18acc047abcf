"""Preprocessing and augmentation layers for images (height, width, channels).

Rescaling keeps any shape; Resizing and CenterCrop set height and width; the random
augmentations (active in training only) keep the image's shape. Normalization keeps any shape; its
mean and variance are adapted to each trial's training split (`adapt_layers` in the builder, never
the validation data). TextVectorization, adapted to text, is not here yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ktrun.layers.base import LayerSpec, LayerType
from ktrun.layers.core import same_shape
from ktrun.layers.shape_math import ShapeFailure, size, spatial
from ktrun.spec.domains import BOOL, NON_NEGATIVE, POSITIVE_INT, Domain
from ktrun.spec.refs import BoolArg, FloatArg, IntArg, SizeArg, StrArg

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


def _resized(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    return (size(layer.args["height"]), size(layer.args["width"]), shape[-1])


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
)
