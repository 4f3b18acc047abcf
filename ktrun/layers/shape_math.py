"""The shape arithmetic layer rules are written in: Keras 3's own output-size formulas on plain
integers (None where a size is not known), and the failure a rule returns instead of raising."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer, ShapeRule

Dim = int | None
Shape = tuple[Dim, ...]


def format_shape(shape: Shape) -> str:
    return (
        "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    )


@dataclass(frozen=True)
class ShapeFailure:
    code: str
    layer: ConcreteLayer
    message: str
    hint: str
    arg: str | None = None  # the argument to change, when one is to blame

    @property
    def path(self) -> tuple[str | int, ...]:
        return (*self.layer.path, self.arg) if self.arg else self.layer.path


# ---------------------------------------------------------------- arithmetic the rules share


def size(v: object) -> Dim:
    """A resolved size argument: the integer, or None (unknown) for anything else."""
    return v if isinstance(v, int) else None


def per_axis(v: object, rank: int) -> tuple[Dim, ...]:
    """`kernel_size: 3` or `[3, 5]` as one size per spatial axis (None where unknown)."""
    if isinstance(v, list):
        if len(v) != rank:
            return (None,) * rank
        return tuple(x if isinstance(x, int) else None for x in v)
    return (v if isinstance(v, int) else None,) * rank


def rank_hint(layer: ConcreteLayer, shape: Shape, need: int) -> str:
    t = layer.layer.type
    if need > len(shape):
        return (
            f"{t} needs a per-sample input of rank {need}; add a Reshape layer before it "
            f"(e.g. target_shape {list(shape) + [1] * (need - len(shape))}) or set "
            f"model.input_shape"
        )
    return f"{t} needs a per-sample input of rank {need}; add Flatten or a global pooling layer"


def spatial_rank_failure(layer: ConcreteLayer, shape: Shape, rank: int) -> ShapeFailure | None:
    """Convolutions and poolings of `rank` spatial axes take (axes..., channels)."""
    if len(shape) == rank + 1:
        return None
    return ShapeFailure(
        "rank-mismatch",
        layer,
        f"{layer.layer.type} expects a per-sample input of rank {rank + 1} "
        f"({'steps, channels' if rank == 1 else 'height, width, channels'}) but receives "
        f"{format_shape(shape)}",
        rank_hint(layer, shape, rank + 1),
    )


def spatial(rank: int, body: ShapeRule) -> ShapeRule:
    """The rule of a layer over `rank` spatial axes and channels: `body` (which may take the rank
    from `len(shape) - 1`) only sees inputs of the right rank."""

    def rule(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
        wrong_rank = spatial_rank_failure(layer, shape, rank)
        return wrong_rank if wrong_rank is not None else body(layer, shape)

    return rule


def conv_out(
    dims: Shape,
    k: tuple[Dim, ...],
    s: tuple[Dim, ...],
    d: tuple[Dim, ...],
    padding: object,
) -> tuple[Shape, int | None]:
    """Output spatial dims and the first axis whose output would be <= 0."""
    out: list[Dim] = []
    bad: int | None = None
    for axis, (n, kk, ss, dd) in enumerate(zip(dims, k, s, d, strict=True)):
        if n is None or ss is None or (padding == "valid" and (kk is None or dd is None)):
            out.append(None)
            continue
        if padding == "valid":
            o = math.floor((n - dd * (kk - 1) - 1) / ss) + 1  # type: ignore[operator]
        elif padding in ("same", "causal"):
            o = math.floor((n - 1) / ss) + 1
        else:
            out.append(None)
            continue
        if o <= 0 and bad is None:
            bad = axis
        out.append(o)
    return tuple(out), bad


def conv_transpose_out(
    dims: Shape,
    k: tuple[Dim, ...],
    s: tuple[Dim, ...],
    d: tuple[Dim, ...],
    padding: object,
    output_padding: tuple[Dim, ...] | None,
) -> Shape:
    """Keras' `_get_output_shape_given_tf_padding` per axis: a transposed convolution never
    shrinks its map, so no axis can fail."""
    out: list[Dim] = []
    for axis, (n, kk, ss, dd) in enumerate(zip(dims, k, s, d, strict=True)):
        extra = None if output_padding is None else output_padding[axis]
        if padding == "same" and output_padding is None and n is not None and ss is not None:
            out.append(n * ss)  # whatever the kernel and dilation
            continue
        if n is None or kk is None or ss is None or dd is None or padding not in ("valid", "same"):
            out.append(None)
            continue
        if output_padding is not None and extra is None:
            out.append(None)
            continue
        span = (kk - 1) * dd + 1
        if padding == "valid":
            out.append((n - 1) * ss + span + (max(span, ss) - span if extra is None else extra))
        else:
            out.append(n * ss if extra is None else (n - 1) * ss + span % 2 + extra)
    return tuple(out)


# ---------------------------------------------------------------- the walk
