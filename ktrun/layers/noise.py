"""Regularising noise: spatial dropout (whole channels) and Gaussian noise or dropout. None
changes the shape; spatial dropout needs (steps, channels) or (height, width, channels)."""

from __future__ import annotations

from typing import Literal

from ktrun.layers.base import LayerSpec, LayerType
from ktrun.layers.core import same_shape
from ktrun.layers.shape_math import spatial
from ktrun.spec.domains import FRACTION, NON_NEGATIVE
from ktrun.spec.refs import FloatArg


class SpatialDropout1D(LayerSpec):
    type: Literal["SpatialDropout1D"]
    rate: FloatArg


class SpatialDropout2D(LayerSpec):
    type: Literal["SpatialDropout2D"]
    rate: FloatArg


class GaussianNoise(LayerSpec):
    type: Literal["GaussianNoise"]
    stddev: FloatArg


class GaussianDropout(LayerSpec):
    type: Literal["GaussianDropout"]
    rate: FloatArg


TYPES = (
    LayerType(spec=SpatialDropout1D, shape=spatial(1, same_shape), domains={"rate": FRACTION}),
    LayerType(spec=SpatialDropout2D, shape=spatial(2, same_shape), domains={"rate": FRACTION}),
    LayerType(spec=GaussianNoise, shape=same_shape, domains={"stddev": NON_NEGATIVE}),
    LayerType(spec=GaussianDropout, shape=same_shape, domains={"rate": FRACTION}),
)
