"""Activation layers: `Activation` by name, and Keras' activation layers that take arguments
(a LeakyReLU's slope, an ELU's alpha, ...). All keep their input's shape."""

from __future__ import annotations

from typing import Literal

from ktrun.layers.base import Activation, LayerSpec, LayerType, product
from ktrun.layers.core import same_shape
from ktrun.spec.domains import ACTIVATION, NON_NEGATIVE
from ktrun.spec.refs import FloatArg, IntArg


class Activation_(LayerSpec):  # the name `Activation` is the argument type; the schema says Activation_
    type: Literal["Activation"]
    activation: Activation


class ReLU(LayerSpec):
    type: Literal["ReLU"]
    max_value: FloatArg | None = None
    negative_slope: FloatArg | None = None
    threshold: FloatArg | None = None


class LeakyReLU(LayerSpec):
    type: Literal["LeakyReLU"]
    negative_slope: FloatArg | None = None


class PReLU(LayerSpec):
    """A learned slope per unit below zero."""

    type: Literal["PReLU"]


class ELU(LayerSpec):
    type: Literal["ELU"]
    alpha: FloatArg | None = None


class Softmax(LayerSpec):
    type: Literal["Softmax"]
    axis: IntArg | None = None


TYPES = (
    LayerType(spec=Activation_, shape=same_shape, domains={"activation": ACTIVATION}),
    LayerType(
        spec=ReLU, shape=same_shape, domains=dict.fromkeys(("max_value", "negative_slope"), NON_NEGATIVE)
    ),
    LayerType(spec=LeakyReLU, shape=same_shape, domains={"negative_slope": NON_NEGATIVE}),
    LayerType(spec=PReLU, shape=same_shape, params=lambda layer, given, out: product(out)),  # a slope each
    LayerType(spec=ELU, shape=same_shape, domains={"alpha": NON_NEGATIVE}),
    LayerType(spec=Softmax, shape=same_shape),
)
