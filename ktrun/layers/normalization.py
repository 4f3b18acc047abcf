"""BatchNormalization and LayerNormalization: they rescale values and keep the shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import LayerSpec, LayerType, product
from ktrun.layers.core import same_shape
from ktrun.spec.domains import FRACTION, POSITIVE
from ktrun.spec.refs import FloatArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class BatchNormalization(LayerSpec):
    type: Literal["BatchNormalization"]
    momentum: FloatArg = 0.99
    epsilon: FloatArg = 0.001


class LayerNormalization(LayerSpec):
    type: Literal["LayerNormalization"]
    epsilon: FloatArg = 0.001


def _batch(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """gamma, beta, and the moving mean and variance, one each per feature."""
    return None if out[-1] is None else 4 * out[-1]


def _layer(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    return None if out[-1] is None else 2 * out[-1]


def _batch_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """At inference a scale and a shift per value, after folding the moving statistics into them
    (6 per feature, as TF's profiler counts it)."""
    values = product(out)
    return None if values is None or out[-1] is None else 2 * values + 6 * out[-1]


def _layer_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """Mean and variance over the last axis, normalise, scale and shift: 9 per value and 4 per
    row, as TF's profiler counts Keras' graph."""
    values, rows = product(out), product(out[:-1])
    return None if values is None or rows is None else 9 * values + 4 * rows


TYPES = (
    LayerType(
        spec=BatchNormalization,
        shape=same_shape,
        params=_batch,
        flops=_batch_flops,
        domains={"momentum": FRACTION, "epsilon": POSITIVE},
    ),
    LayerType(
        spec=LayerNormalization,
        shape=same_shape,
        params=_layer,
        flops=_layer_flops,
        domains={"epsilon": POSITIVE},
    ),
)
