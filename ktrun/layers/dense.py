"""Dense: the fully connected layer; it maps the last axis to `units`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import WEIGHT_DOMAINS, Activation, LayerType, WeightedSpec, flag, product
from ktrun.layers.shape_math import ShapeFailure, size
from ktrun.spec.domains import ACTIVATION, BOOL, POSITIVE_INT
from ktrun.spec.refs import BoolArg, IntArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class Dense(WeightedSpec):
    type: Literal["Dense"]
    units: IntArg
    activation: Activation | None = None
    use_bias: BoolArg = True


def _shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    if not shape:
        return ShapeFailure("rank-mismatch", layer, "Dense receives a scalar input", "add a Reshape layer")
    return (*shape[:-1], size(layer.args["units"]))


def _params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    c, u = given[0][-1] if given[0] else None, out[-1]
    if c is None or u is None:
        return None
    return c * u + (u if flag(layer, "use_bias", True) else 0)


def _flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """A multiply-add per weight of the kernel for each row (each step of a sequence), and the bias."""
    c, u, rows = given[0][-1] if given[0] else None, out[-1], product(out[:-1])
    if c is None or u is None or rows is None:
        return None
    return rows * (2 * c * u + (u if flag(layer, "use_bias", True) else 0))


TYPES = (
    LayerType(
        spec=Dense,
        shape=_shape,
        params=_params,
        flops=_flops,
        domains={
            "units": POSITIVE_INT,
            "activation": ACTIVATION,
            "use_bias": BOOL,
            **WEIGHT_DOMAINS,
        },
        shape_args=("units",),
        size_args=("units",),
    ),
)
