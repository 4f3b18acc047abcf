"""LSTM, GRU and SimpleRNN: (timesteps, features) to the last output, or to every step's output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import (
    WEIGHT_DOMAINS,
    Activation,
    LayerType,
    Regularizer,
    WeightConstraint,
    WeightedSpec,
    WeightInitializer,
)
from ktrun.layers.shape_math import ShapeFailure, format_shape, rank_hint, size
from ktrun.spec.domains import ACTIVATION, BOOL, CONSTRAINT, FRACTION, INITIALIZER, POSITIVE_INT
from ktrun.spec.refs import BoolArg, FloatArg, IntArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class _Recurrent(WeightedSpec):
    recurrent_initializer: WeightInitializer | None = None
    recurrent_regularizer: Regularizer | None = None
    recurrent_constraint: WeightConstraint | None = None
    units: IntArg
    activation: Activation | None = None
    dropout: FloatArg = 0.0
    recurrent_dropout: FloatArg = 0.0
    return_sequences: BoolArg = False


class LSTM(_Recurrent):
    type: Literal["LSTM"]


class GRU(_Recurrent):
    type: Literal["GRU"]


class SimpleRNN(_Recurrent):
    type: Literal["SimpleRNN"]


#: What `Bidirectional` wraps: a layer that reads its sequence forwards or backwards.
RECURRENT_SPECS = (LSTM, GRU, SimpleRNN)


def _shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    if len(shape) != 2:
        return ShapeFailure(
            "rank-mismatch",
            layer,
            f"{layer.layer.type} expects a per-sample input of rank 2 (timesteps, features) but "
            f"receives {format_shape(shape)}",
            rank_hint(layer, shape, 2),
        )
    u = size(layer.args["units"])
    return (shape[0], u) if layer.args["return_sequences"] is True else (u,)


#: Gates per recurrent layer, and bias rows (Keras' GRU keeps two: `reset_after`).
_GATES = {"LSTM": (4, 1), "GRU": (3, 2), "SimpleRNN": (1, 1)}


def _params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    gates, biases = _GATES[layer.layer.type]
    c, u = given[0][-1], size(layer.args["units"])
    if c is None or u is None:
        return None
    return gates * u * (c + u) + biases * gates * u


#: Per step, beyond the 2 (c + u) multiply-adds per gate unit: the bias and the sum of the
#: input's and the state's products per gate unit, and the gating itself (LSTM: f*c + i*g and
#: o*tanh(c); GRU's reset_after: the reset, the update's z*h + (1 - z)*h~). TF's profiler agrees.
_ELEMENTWISE = {"LSTM": 12, "GRU": 14, "SimpleRNN": 2}


def _flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    gates = _GATES[layer.layer.type][0]
    steps, c, u = given[0][0], given[0][-1], size(layer.args["units"])
    if steps is None or c is None or u is None:
        return None
    return steps * (2 * gates * u * (c + u) + _ELEMENTWISE[layer.layer.type] * u)


def _recurrent(spec: type[_Recurrent]) -> LayerType:
    return LayerType(
        spec=spec,
        shape=_shape,
        params=_params,
        flops=_flops,
        sequence_arg="return_sequences",
        domains={
            "units": POSITIVE_INT,
            "activation": ACTIVATION,
            "dropout": FRACTION,
            "recurrent_dropout": FRACTION,
            "return_sequences": BOOL,
            **WEIGHT_DOMAINS,
            "recurrent_initializer": INITIALIZER,
            "recurrent_constraint": CONSTRAINT,
        },
        shape_args=("units", "return_sequences"),
        size_args=("units",),
    )


TYPES = tuple(_recurrent(spec) for spec in RECURRENT_SPECS)
