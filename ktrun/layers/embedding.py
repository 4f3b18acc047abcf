"""Embedding: token ids (a per-sample sequence) to vectors of `output_dim`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ktrun.layers.base import LayerSpec, LayerType, Regularizer, WeightConstraint, WeightInitializer, product
from ktrun.layers.shape_math import ShapeFailure, format_shape, size
from ktrun.spec.domains import CONSTRAINT, INITIALIZER, POSITIVE_INT
from ktrun.spec.refs import IntArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class Embedding(LayerSpec):
    type: Literal["Embedding"]
    input_dim: IntArg = Field(description="Vocabulary size: largest token id + 1.")
    output_dim: IntArg
    embeddings_initializer: WeightInitializer | None = None
    embeddings_regularizer: Regularizer | None = None
    activity_regularizer: Regularizer | None = None
    embeddings_constraint: WeightConstraint | None = None


def _shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    if len(shape) != 1:
        return ShapeFailure(
            "rank-mismatch",
            layer,
            "Embedding expects a per-sample sequence of token ids (rank 1) but receives "
            f"{format_shape(shape)}",
            "put Embedding first, on integer token data",
        )
    return (shape[0], size(layer.args["output_dim"]))


def _params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    return product((size(layer.args["input_dim"]), size(layer.args["output_dim"])))


TYPES = (
    LayerType(
        spec=Embedding,
        shape=_shape,
        params=_params,
        domains={
            "input_dim": POSITIVE_INT,
            "output_dim": POSITIVE_INT,
            "embeddings_initializer": INITIALIZER,
            "embeddings_constraint": CONSTRAINT,
        },
        shape_args=("output_dim",),
        size_args=("output_dim",),
    ),
)
