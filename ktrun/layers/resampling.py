"""Up-sampling, zero padding and cropping over 1 or 2 spatial axes (channels last).

Keras' formulas: up-sampling multiplies each axis by `size`; padding adds `padding` on both
sides, cropping removes `cropping` from both; an int is every axis, a list one per axis, and
for padding and cropping a pair `[before, after]` in that list sets an axis's two sides apart
(`[[0, 4], [0, 4]]` crops the bottom and the right, keeping the top-left corner). Over one axis,
Keras reads a list of two as that axis's pair: `cropping: [0, 4]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import LayerSpec, LayerType
from ktrun.layers.shape_math import Dim, ShapeFailure, format_shape, per_axis, spatial
from ktrun.spec.domains import NON_NEGATIVE_INT, POSITIVE_INT, Domain
from ktrun.spec.refs import EdgesArg, SizeArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer, ShapeRule
    from ktrun.layers.shape_math import Shape


class _UpSampling(LayerSpec):
    size: SizeArg = 2


class _ZeroPadding(LayerSpec):
    padding: EdgesArg = 1


class _Cropping(LayerSpec):
    cropping: EdgesArg


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


def _sides(v: object, rank: int) -> tuple[Dim, ...]:
    """Padding or cropping as the total per axis: both sides of it (`[before, after]` summed; for
    one axis Keras reads a list of two as that pair)."""
    if rank == 1 and isinstance(v, list) and len(v) == 2 and not any(isinstance(x, list) for x in v):
        v = [v]
    if not isinstance(v, list) or not any(isinstance(x, list) for x in v):
        return tuple(None if d is None else 2 * d for d in per_axis(v, rank))
    if len(v) != rank:
        return (None,) * rank
    total: list[Dim] = []
    for x in v:
        two = x if isinstance(x, list) else [x, x]
        total.append(sum(two) if all(isinstance(y, int) for y in two) else None)
    return tuple(total)


def _axis_rule(arg: str, change: Callable[[int, int], int], sides: bool = False) -> ShapeRule:
    """The rule that changes each spatial size by `arg`'s amount for that axis (shape_math.per_axis;
    with `sides`, the amount on both sides together)."""

    def rule(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
        rank = len(shape) - 1
        amounts = _sides(layer.args[arg], rank) if sides else per_axis(layer.args[arg], rank)
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
_PAD = _axis_rule("padding", lambda d, a: d + a, sides=True)
_CROP = _axis_rule("cropping", lambda d, a: d - a, sides=True)


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
