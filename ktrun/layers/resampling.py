"""Up-sampling, zero padding and cropping over 1 or 2 spatial axes (channels last).

Keras' formulas: up-sampling multiplies each axis by `size`; padding adds `padding` on both
sides, cropping removes `cropping` from both; an int is every axis, a list one per axis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import LayerSpec, LayerType
from ktrun.layers.shape_math import Dim, ShapeFailure, format_shape, per_axis, spatial
from ktrun.spec.domains import NON_NEGATIVE_INT, POSITIVE_INT, Domain
from ktrun.spec.refs import SizeArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer, ShapeRule
    from ktrun.layers.shape_math import Shape


class _UpSampling(LayerSpec):
    size: SizeArg = 2


class _ZeroPadding(LayerSpec):
    padding: SizeArg = 1


class _Cropping(LayerSpec):
    cropping: SizeArg


class UpSampling1D(_UpSampling):
    type: Literal["UpSampling1D"]


class UpSampling2D(_UpSampling):
    type: Literal["UpSampling2D"]


class ZeroPadding1D(_ZeroPadding):
    type: Literal["ZeroPadding1D"]


class ZeroPadding2D(_ZeroPadding):
    type: Literal["ZeroPadding2D"]


class Cropping1D(_Cropping):
    type: Literal["Cropping1D"]


class Cropping2D(_Cropping):
    type: Literal["Cropping2D"]


def _axis_rule(arg: str, change: Callable[[int, int], int]) -> ShapeRule:
    """The rule that changes each spatial size by `arg`'s amount for that axis (shape_math.per_axis)."""

    def rule(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
        amounts = per_axis(layer.args[arg], len(shape) - 1)
        out: list[Dim] = [
            None if d is None or a is None else change(d, a) for d, a in zip(shape[:-1], amounts, strict=True)
        ]
        if any(d is not None and d <= 0 for d in out):
            return ShapeFailure(
                "crop-too-large",
                layer,
                f"{layer.layer.type} cropping {layer.args[arg]} leaves nothing of its "
                f"{format_shape(shape)} input",
                "crop less, or pool less before this layer; or leave it: such points are "
                "excluded from the search",
                arg,
            )
        return (*out, shape[-1])

    return rule


_UP = _axis_rule("size", lambda d, a: d * a)
_PAD = _axis_rule("padding", lambda d, a: d + 2 * a)
_CROP = _axis_rule("cropping", lambda d, a: d - 2 * a)


def _type(spec: type[LayerSpec], rank: int, rule: ShapeRule, arg: str, domain: Domain) -> LayerType:
    return LayerType(spec=spec, shape=spatial(rank, rule), domains={arg: domain}, shape_args=(arg,))


TYPES = (
    _type(UpSampling1D, 1, _UP, "size", POSITIVE_INT),
    _type(UpSampling2D, 2, _UP, "size", POSITIVE_INT),
    _type(ZeroPadding1D, 1, _PAD, "padding", NON_NEGATIVE_INT),
    _type(ZeroPadding2D, 2, _PAD, "padding", NON_NEGATIVE_INT),
    _type(Cropping1D, 1, _CROP, "cropping", NON_NEGATIVE_INT),
    _type(Cropping2D, 2, _CROP, "cropping", NON_NEGATIVE_INT),
)
