"""Max and average pooling (1D/2D) and their global forms; pooling keeps the channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ktrun.layers.base import LayerSpec, LayerType, Padding, product
from ktrun.layers.shape_math import ShapeFailure, conv_out, format_shape, per_axis, spatial
from ktrun.spec.domains import PADDING, POSITIVE_INT
from ktrun.spec.refs import SizeArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class _Pool(LayerSpec):
    pool_size: SizeArg = 2
    strides: SizeArg | None = Field(None, description="Defaults to pool_size.")
    padding: Padding = "valid"


class MaxPooling1D(_Pool):
    type: Literal["MaxPooling1D"]


class MaxPooling2D(_Pool):
    type: Literal["MaxPooling2D"]


class AveragePooling1D(_Pool):
    type: Literal["AveragePooling1D"]


class AveragePooling2D(_Pool):
    type: Literal["AveragePooling2D"]


class GlobalAveragePooling1D(LayerSpec):
    type: Literal["GlobalAveragePooling1D"]


class GlobalAveragePooling2D(LayerSpec):
    type: Literal["GlobalAveragePooling2D"]


class GlobalMaxPooling1D(LayerSpec):
    type: Literal["GlobalMaxPooling1D"]


class GlobalMaxPooling2D(LayerSpec):
    type: Literal["GlobalMaxPooling2D"]


def pool_shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """A pooling over the input's spatial axes; strides default to the pool size."""
    a, rank = layer.args, len(shape) - 1
    p = per_axis(a["pool_size"], rank)
    s = per_axis(a["strides"] if a.get("strides") is not None else a["pool_size"], rank)
    out, bad = conv_out(shape[:-1], p, s, (1,) * rank, a["padding"])
    if bad is not None:
        return ShapeFailure(
            "pool-too-large",
            layer,
            f"{layer.layer.type} pool {'x'.join(str(x) for x in p)} does not fit its "
            f"{format_shape(shape)} input",
            "pool less, use `padding: same`, or limit the repeat count; or leave it: such "
            "points are excluded from the search",
            "pool_size",
        )
    return (*out, shape[-1])


def global_pool_shape(layer: ConcreteLayer, shape: Shape) -> Shape:
    """Global pooling over the spatial axes leaves the channels alone."""
    return (shape[-1],)


def _pool_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """A comparison (max) or an add (average) per window value at each output value."""
    window, values = product(per_axis(layer.args["pool_size"], len(out) - 1)), product(out)
    return None if window is None or values is None else window * values


def _global_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """One per value read (TF's profiler counts the mean's, and none for the max's reduction)."""
    return product(given[0])


_DOMAINS = {"pool_size": POSITIVE_INT, "strides": POSITIVE_INT, "padding": PADDING}
_SHAPE_ARGS = ("pool_size", "strides", "padding")


def _pool(spec: type[_Pool], rank: int) -> LayerType:
    return LayerType(
        spec=spec,
        shape=spatial(rank, pool_shape),
        flops=_pool_flops,
        domains=_DOMAINS,
        shape_args=_SHAPE_ARGS,
    )


def _global(spec: type[LayerSpec], rank: int) -> LayerType:
    return LayerType(spec=spec, shape=spatial(rank, global_pool_shape), flops=_global_flops)


TYPES = (
    _pool(MaxPooling1D, 1),
    _pool(MaxPooling2D, 2),
    _pool(AveragePooling1D, 1),
    _pool(AveragePooling2D, 2),
    _global(GlobalAveragePooling1D, 1),
    _global(GlobalAveragePooling2D, 2),
    _global(GlobalMaxPooling1D, 1),
    _global(GlobalMaxPooling2D, 2),
)
