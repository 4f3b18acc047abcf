"""Bidirectional and TimeDistributed: a layer around another, given whole under `layer:`.

The wrapped layer is a layer spec like any other (its `$refs`, domains and shape rule are its
own type's); the checks reach it at `model.layers.N.layer`, and its shape rule runs inside the
wrapper's: Bidirectional on the whole sequence (its last axis doubled when the two directions
are concatenated), TimeDistributed on each time step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import Field, field_validator

from ktrun.layers.base import ConcreteLayer, LayerSpec, LayerType, product
from ktrun.layers.recurrent import RECURRENT_SPECS
from ktrun.layers.shape_math import ShapeFailure, format_shape
from ktrun.spec.domains import Domain
from ktrun.spec.refs import StrArg

if TYPE_CHECKING:
    from ktrun.layers.shape_math import Shape

    SingleLayer = LayerSpec  # every layer type's spec, resolved in `ktrun.layers`
    Recurrent = LayerSpec
else:
    Recurrent = Annotated[Union[RECURRENT_SPECS], Field(discriminator="type")]  # noqa: UP007


def _plain(layer: LayerSpec) -> LayerSpec:
    """`when`, `first` and `last` belong to the wrapper: the layer inside is built with it."""
    placed = [k for k in ("when", "first", "last") if getattr(layer, k)]
    if placed:
        raise ValueError(f"set `{placed[0]}:` on the wrapper, not on the layer inside it")
    return layer


class Bidirectional(LayerSpec):
    """A recurrent layer run forwards and backwards over the sequence, the two outputs merged."""

    type: Literal["Bidirectional"]
    layer: Recurrent = Field(
        description="The recurrent layer (LSTM, GRU, SimpleRNN), e.g. `{type: LSTM, units: $units}`."
    )
    merge_mode: StrArg = Field(
        "concat", description="How the two directions combine: concat (doubles the width), sum, mul, ave."
    )

    _plain_layer = field_validator("layer", mode="after")(_plain)


class TimeDistributed(LayerSpec):
    """One layer applied to every time step (axis 1) with the same weights."""

    type: Literal["TimeDistributed"]
    layer: SingleLayer = Field(description="The layer applied to each step, e.g. `{type: Dense, units: 8}`.")

    _plain_layer = field_validator("layer", mode="after")(_plain)


def _wrapped(layer: ConcreteLayer) -> ConcreteLayer:
    inner = layer.args["layer"]
    assert isinstance(inner, ConcreteLayer)  # unroll resolves a nested spec to its layer
    return inner


def _bidirectional(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """Keras' `Bidirectional.compute_output_shape`: the forward layer's, last axis doubled for
    concat."""
    inner = _wrapped(layer)
    out = inner.kind.shape(inner, shape)
    if isinstance(out, ShapeFailure) or layer.args["merge_mode"] != "concat":
        return out
    last = out[-1]
    return (*out[:-1], None if last is None else 2 * last)


def _time_distributed(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """Keras' `TimeDistributed.compute_output_shape`: the inner rule on (features...) of one step."""
    if len(shape) < 2:
        return ShapeFailure(
            "rank-mismatch",
            layer,
            f"TimeDistributed expects a per-sample input of rank 2 or more (timesteps, ...) but "
            f"receives {format_shape(shape)}",
            "TimeDistributed needs a time axis; add a Reshape layer before it, or keep the "
            "sequence (`return_sequences: true`) in the layer before it",
        )
    inner = _wrapped(layer)
    out = inner.kind.shape(inner, shape[1:])
    return out if isinstance(out, ShapeFailure) else (shape[0], *out)


def _inner_params(layer: ConcreteLayer, shape: Shape) -> int | None:
    inner = _wrapped(layer)
    out = inner.kind.shape(inner, shape)
    return None if isinstance(out, ShapeFailure) else inner.kind.params(inner, (shape,), out)


def _bidirectional_params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    one = _inner_params(layer, given[0])
    return None if one is None else 2 * one  # a forward and a backward copy


def _time_distributed_params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    return _inner_params(layer, given[0][1:])  # one layer, shared by every step


def _inner_flops(layer: ConcreteLayer, shape: Shape) -> int | None:
    inner = _wrapped(layer)
    out = inner.kind.shape(inner, shape)
    return None if isinstance(out, ShapeFailure) else inner.kind.flops(inner, (shape,), out)


def _bidirectional_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """Both directions, and the merge of their outputs (none for concat, one op per value else;
    `ave` two)."""
    one, values = _inner_flops(layer, given[0]), product(out)
    if one is None or values is None:
        return None
    merge = {"concat": 0, "ave": 2}.get(layer.args["merge_mode"], 1)
    return 2 * one + merge * values


def _time_distributed_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    one, steps = _inner_flops(layer, given[0][1:]), given[0][0]
    return None if one is None or steps is None else steps * one


MERGE_MODE = Domain("str", "a merge mode", names=("concat", "sum", "mul", "ave"))

TYPES = (
    LayerType(
        spec=Bidirectional,
        shape=_bidirectional,
        params=_bidirectional_params,
        flops=_bidirectional_flops,
        domains={"merge_mode": MERGE_MODE},
        shape_args=("merge_mode",),
        size_args=("merge_mode",),
        sequence_arg="layer.return_sequences",
    ),
    LayerType(
        spec=TimeDistributed,
        shape=_time_distributed,
        params=_time_distributed_params,
        flops=_time_distributed_flops,
    ),
)
