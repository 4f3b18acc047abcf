"""Activation as a layer of its own (Keras' activation layers family); it keeps the shape."""

from __future__ import annotations

from typing import Literal

from ktrun.layers.base import Activation, LayerSpec, LayerType
from ktrun.layers.core import same_shape
from ktrun.spec.domains import ACTIVATION


class Activation_(LayerSpec):  # the name `Activation` is the argument type; the schema says Activation_
    type: Literal["Activation"]
    activation: Activation


TYPES = (LayerType(spec=Activation_, shape=same_shape, domains={"activation": ACTIVATION}),)
