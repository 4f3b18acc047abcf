"""Dropout, Flatten, Reshape: layers that change no values' meaning, only their arrangement."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ktrun.layers.base import LayerSpec, LayerType
from ktrun.layers.shape_math import ShapeFailure, format_shape
from ktrun.spec.domains import FRACTION
from ktrun.spec.refs import FloatArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class Dropout(LayerSpec):
    type: Literal["Dropout"]
    rate: FloatArg


class Flatten(LayerSpec):
    type: Literal["Flatten"]


class Reshape(LayerSpec):
    type: Literal["Reshape"]
    target_shape: list[int] = Field(min_length=1, description="Per-sample shape; one -1 allowed.")


def same_shape(layer: ConcreteLayer, shape: Shape) -> Shape:
    """The rule of layers that keep their input's shape (dropout, normalisation, activation)."""
    return shape


def _flatten(layer: ConcreteLayer, shape: Shape) -> Shape:
    if any(d is None for d in shape):
        return (None,)
    return (math.prod(shape),)  # type: ignore[arg-type]


def _reshape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    assert isinstance(layer.layer, Reshape)
    target = list(layer.layer.target_shape)

    def fail(message: str, hint: str) -> ShapeFailure:
        return ShapeFailure("reshape-mismatch", layer, message, hint)

    if target.count(-1) > 1 or any(t == 0 or t < -1 for t in target):
        return fail(
            f"Reshape target_shape {target} is not a shape (positive sizes, at most one -1)",
            "give positive sizes, with at most one -1",
        )
    if any(d is None for d in shape):
        return tuple(None if t == -1 else t for t in target)
    total = math.prod(shape)  # type: ignore[arg-type]
    known = math.prod(t for t in target if t != -1)
    if -1 in target:
        if total % known:
            return fail(
                f"Reshape cannot turn {format_shape(shape)} ({total} values) into {target}",
                f"the known sizes must divide {total}",
            )
        target[target.index(-1)] = total // known
    elif known != total:
        return fail(
            f"Reshape cannot turn {format_shape(shape)} ({total} values) into {target} ({known} values)",
            f"choose a target_shape whose sizes multiply to {total}, or use -1 for one axis",
        )
    return tuple(target)


TYPES = (
    LayerType(spec=Dropout, shape=same_shape, domains={"rate": FRACTION}),
    LayerType(spec=Flatten, shape=_flatten),
    LayerType(spec=Reshape, shape=_reshape, reads_sizes=True),
)
