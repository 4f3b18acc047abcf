"""Attention layers: a query attends over a value (and key). Given one input, the layer attends
over itself (self-attention, as Transformer blocks use it); given two or three, they are
`[query, value]` or `[query, value, key]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ktrun.layers.base import WEIGHT_DOMAINS, LayerSpec, LayerType, WeightedSpec, flag, product
from ktrun.layers.shape_math import ShapeFailure, format_shape, size
from ktrun.spec.domains import FRACTION, POSITIVE_INT
from ktrun.spec.refs import BoolArg, FloatArg, IntArg, StrArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class MultiHeadAttention(WeightedSpec):
    type: Literal["MultiHeadAttention"]
    num_heads: IntArg
    key_dim: IntArg
    value_dim: IntArg | None = None
    dropout: FloatArg | None = None
    use_bias: BoolArg | None = None
    output_shape: list[IntArg] | None = Field(
        None, description="Last axes of the output; unset: the query's last axis."
    )


class Attention(LayerSpec):
    type: Literal["Attention"]
    use_scale: BoolArg | None = None
    score_mode: StrArg | None = Field(None, description="`dot` (default) or `concat`.")
    dropout: FloatArg | None = None


class AdditiveAttention(LayerSpec):
    type: Literal["AdditiveAttention"]
    use_scale: BoolArg | None = None
    dropout: FloatArg | None = None


def _roles(shapes: tuple[Shape, ...]) -> tuple[Shape, Shape, Shape]:
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    key = shapes[2] if len(shapes) > 2 else value
    return query, value, key


def _sequence_failure(layer: ConcreteLayer, shapes: tuple[Shape, ...]) -> ShapeFailure | None:
    if all(len(s) >= 2 for s in shapes):
        return None
    return ShapeFailure(
        "rank-mismatch",
        layer,
        f"{layer.layer.type} attends over a sequence, (steps, features) per sample, but receives "
        f"{', '.join(format_shape(s) for s in shapes)}",
        "feed it a sequence: an Embedding or a recurrent layer with return_sequences: true, or "
        "a Reshape to (steps, features)",
    )


def _multi_head(layer: ConcreteLayer, shapes: tuple[Shape, ...]) -> Shape | ShapeFailure:
    wrong = _sequence_failure(layer, shapes)
    if wrong is not None:
        return wrong
    query, value, key = _roles(shapes)
    if value[:-1] != key[:-1] and None not in (*value[:-1], *key[:-1]):
        return ShapeFailure(
            "attention-shape-mismatch",
            layer,
            f"MultiHeadAttention needs value and key of the same steps but receives value "
            f"{format_shape(value)} and key {format_shape(key)}",
            "give value and key the same sequence length (only their last axis may differ)",
        )
    out = layer.args.get("output_shape")
    if isinstance(out, list):
        return (*query[:-1], *(d if isinstance(d, int) else None for d in out))
    return query


def _dot_product(layer: ConcreteLayer, shapes: tuple[Shape, ...]) -> Shape | ShapeFailure:
    """Scores are query · key, so their feature sizes must agree; the output has value's."""
    wrong = _sequence_failure(layer, shapes)
    if wrong is not None:
        return wrong
    query, value, key = _roles(shapes)
    if None not in (query[-1], key[-1]) and query[-1] != key[-1]:
        return ShapeFailure(
            "attention-shape-mismatch",
            layer,
            f"{layer.layer.type} scores the query against the key, so their last axes must "
            f"agree, but receives query {format_shape(query)} and key {format_shape(key)}",
            "give query and key the same number of features (a Dense layer on one of them), or "
            "use MultiHeadAttention, which projects both",
        )
    return (*query[:-1], value[-1])


def _multi_head_params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """Projections of query, key and value to (heads, key_dim / value_dim), and the output one."""
    query, value, key = _roles(given)
    h, k = size(layer.args["num_heads"]), size(layer.args["key_dim"])
    v = size(layer.args.get("value_dim")) if layer.args.get("value_dim") is not None else k
    wide = product(out[len(query) - 1 :])
    if None in (h, k, v, wide, query[-1], value[-1], key[-1]):
        return None
    assert h is not None and k is not None and v is not None and wide is not None
    bias = flag(layer, "use_bias", True)
    total = 0
    for features, dim in ((query[-1], k), (key[-1], k), (value[-1], v)):
        assert features is not None
        total += features * h * dim + (h * dim if bias else 0)
    return total + h * v * wide + (wide if bias else 0)


def _dot_params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """Attention's scalar scale and concat weight; AdditiveAttention's scale per feature."""
    if layer.layer.type == "AdditiveAttention":
        return (out[-1] if flag(layer, "use_scale", True) else 0) if given[0][-1] is not None else None
    return int(flag(layer, "use_scale", False)) + int(layer.args.get("score_mode") == "concat")


def _multi_head_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """The four projections (multiply-adds and biases), the scores (query · key per head, scaled)
    and the weighted sum of the values; the softmax, an activation, is not counted."""
    query, value, key = _roles(given)
    h, k = size(layer.args["num_heads"]), size(layer.args["key_dim"])
    v = size(layer.args.get("value_dim")) if layer.args.get("value_dim") is not None else k
    wide, tq, tk = product(out[len(query) - 1 :]), product(query[:-1]), product(key[:-1])
    if None in (h, k, v, wide, tq, tk, query[-1], value[-1], key[-1]):
        return None
    assert h is not None and k is not None and v is not None and wide is not None
    assert tq is not None and tk is not None
    bias = int(flag(layer, "use_bias", True))
    total = 0
    for steps, features, dim in ((tq, query[-1], k), (tk, key[-1], k), (tk, value[-1], v)):
        assert features is not None
        total += steps * h * dim * (2 * features + bias)
    total += tq * wide * (2 * h * v + bias)
    return total + h * tq * tk * (2 * k + 1 + 2 * v)


def _dot_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """Scores: a dot product per query and key (AdditiveAttention: the sum, its scale and the
    reduction per feature), each scaled with `use_scale`; then the weighted sum of the values."""
    query, value, key = _roles(given)
    tq, tk, d, dv = product(query[:-1]), product(key[:-1]), key[-1], value[-1]
    if tq is None or tk is None or d is None or dv is None:
        return None
    if layer.layer.type == "AdditiveAttention":
        scores = (2 + flag(layer, "use_scale", True)) * tq * tk * d
    else:
        scores = 2 * tq * tk * d + (tq * tk if flag(layer, "use_scale", False) else 0)
    return scores + 2 * tq * tk * dv


_ONE_TO_THREE = (1, 3)
TYPES = (
    LayerType(
        spec=MultiHeadAttention,
        merge=_multi_head,
        arity=_ONE_TO_THREE,
        call="query_value",
        domains={
            **WEIGHT_DOMAINS,
            "num_heads": POSITIVE_INT,
            "key_dim": POSITIVE_INT,
            "value_dim": POSITIVE_INT,
            "dropout": FRACTION,
        },
        shape_args=("output_shape",),
        size_args=("output_shape",),
        params=_multi_head_params,
        flops=_multi_head_flops,
    ),
    *(
        LayerType(
            spec=spec,
            merge=_dot_product,
            arity=_ONE_TO_THREE,
            call="list",
            domains={"dropout": FRACTION},
            params=_dot_params,
            flops=_dot_flops,
        )
        for spec in (Attention, AdditiveAttention)
    ),
)
