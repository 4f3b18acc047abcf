"""Layers that read several inputs and merge them into one: Add, Concatenate, and the rest of
Keras' merging layers. They make graphs (residual connections, branches, several inputs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import LayerSpec, LayerType, product
from ktrun.layers.shape_math import ShapeFailure, format_shape
from ktrun.spec.refs import IntArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Dim, Shape


class Add(LayerSpec):
    type: Literal["Add"]


class Subtract(LayerSpec):
    type: Literal["Subtract"]


class Multiply(LayerSpec):
    type: Literal["Multiply"]


class Average(LayerSpec):
    type: Literal["Average"]


class Maximum(LayerSpec):
    type: Literal["Maximum"]


class Minimum(LayerSpec):
    type: Literal["Minimum"]


class Concatenate(LayerSpec):
    type: Literal["Concatenate"]
    axis: IntArg = -1


def _shown(shapes: tuple[Shape, ...]) -> str:
    return ", ".join(format_shape(s) for s in shapes)


def _elementwise(layer: ConcreteLayer, shapes: tuple[Shape, ...]) -> Shape | ShapeFailure:
    """Keras' rule: equal sizes axis by axis, where a size of 1 broadcasts; ranks must agree
    (Keras would insert axes silently, which is never what a residual connection meant)."""
    t = layer.layer.type
    if len({len(s) for s in shapes}) > 1:
        return ShapeFailure(
            "merge-shape-mismatch",
            layer,
            f"{t} needs inputs of one rank but receives {_shown(shapes)}",
            f"flatten or reshape the inputs of {t} to one rank first (e.g. a Flatten on each branch)",
        )
    out: list[Dim] = []
    for axis, sizes in enumerate(zip(*shapes, strict=True)):
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1 and layer.path[-1] == "residual":
            given, made = shapes
            return ShapeFailure(
                "merge-shape-mismatch",
                layer,
                f"the residual connection adds the block's input {format_shape(given)} to its "
                f"output {format_shape(made)}, which needs one shape",
                "make the block end with the width and size it receives (the same units or "
                "filters, padding: same, strides 1), or set residual: false",
            )
        if len(known) > 1:
            return ShapeFailure(
                "merge-shape-mismatch",
                layer,
                f"{t} needs inputs of the same shape but receives {_shown(shapes)} "
                f"(axis {axis + 1} has sizes {sorted(known)})",
                _match_hint(t, shapes, axis),
            )
        out.append(known.pop() if known else (1 if all(d == 1 for d in sizes) else None))
    return tuple(out)


def _match_hint(t: str, shapes: tuple[Shape, ...], axis: int) -> str:
    if axis == len(shapes[0]) - 1:
        return (
            f"give the branches the same number of units/filters before {t}, or project the "
            "shorter one with a Dense (or 1x1 Conv) layer; Concatenate joins different sizes"
        )
    return f"give the branches the same spatial size before {t} (same strides and padding)"


def _concatenate(layer: ConcreteLayer, shapes: tuple[Shape, ...]) -> Shape | ShapeFailure:
    assert isinstance(layer.layer, Concatenate)
    rank = len(shapes[0])
    axis = layer.args.get("axis")
    if not isinstance(axis, int):
        return (None,) * rank
    if len({len(s) for s in shapes}) > 1 or not -rank <= axis < rank:
        return ShapeFailure(
            "merge-shape-mismatch",
            layer,
            f"Concatenate on axis {axis} needs inputs of one rank, with that axis, but receives "
            f"{_shown(shapes)}",
            "flatten the inputs first (Flatten or a global pooling on each branch), or choose an "
            "axis every input has",
            arg="axis",
        )
    at = axis % rank
    for other in range(rank):
        known = {d for s in shapes if (d := s[other]) is not None}
        if other != at and len(known) > 1:
            return ShapeFailure(
                "merge-shape-mismatch",
                layer,
                f"Concatenate on axis {axis} needs the other axes to match but receives "
                f"{_shown(shapes)} (axis {other + 1} has sizes {sorted(known)})",
                "give the branches the same spatial size (same strides and padding), or "
                "flatten them before joining",
            )
    joined = [s[at] for s in shapes]
    total = None if any(d is None for d in joined) else sum(d for d in joined if d is not None)
    return tuple(
        total if i == at else next((s[i] for s in shapes if s[i] is not None), None) for i in range(rank)
    )


_SEVERAL = (2, None)


def _elementwise_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """One operation per output value per input after the first (Average also divides once)."""
    values = product(out)
    if values is None:
        return None
    return values * (len(given) - 1 + (layer.layer.type == "Average"))


TYPES = (
    *(
        LayerType(spec=spec, merge=_elementwise, arity=_SEVERAL, call="list", flops=_elementwise_flops)
        for spec in (Add, Multiply, Average, Maximum, Minimum)
    ),
    LayerType(spec=Subtract, merge=_elementwise, arity=(2, 2), call="list", flops=_elementwise_flops),
    LayerType(spec=Concatenate, merge=_concatenate, arity=_SEVERAL, call="list"),
)
