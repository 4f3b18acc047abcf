"""BatchNormalization and LayerNormalization: they rescale values and keep the shape."""

from __future__ import annotations

from typing import Literal

from ktrun.layers.base import LayerSpec, LayerType
from ktrun.layers.core import same_shape
from ktrun.spec.domains import FRACTION, POSITIVE
from ktrun.spec.refs import FloatArg


class BatchNormalization(LayerSpec):
    type: Literal["BatchNormalization"]
    momentum: FloatArg = 0.99
    epsilon: FloatArg = 0.001


class LayerNormalization(LayerSpec):
    type: Literal["LayerNormalization"]
    epsilon: FloatArg = 0.001


TYPES = (
    LayerType(
        spec=BatchNormalization,
        shape=same_shape,
        domains={"momentum": FRACTION, "epsilon": POSITIVE},
    ),
    LayerType(
        spec=LayerNormalization,
        shape=same_shape,
        domains={"epsilon": POSITIVE},
    ),
)
