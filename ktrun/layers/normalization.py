"""BatchNormalization and LayerNormalization: they rescale values and keep the shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import LayerSpec, LayerType
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


TYPES = (
    LayerType(
        spec=BatchNormalization,
        shape=same_shape,
        params=_batch,
        domains={"momentum": FRACTION, "epsilon": POSITIVE},
    ),
    LayerType(
        spec=LayerNormalization,
        shape=same_shape,
        params=_layer,
        domains={"epsilon": POSITIVE},
    ),
)
