"""`type: repeat`: a block of layers, not a layer; the space unrolls it, so it has no rule of its own.

A `repeat` block is Keras Tuner's most common pattern (`for i in range(hp.Int("num_blocks",
1, 3))`): each repetition gets its own instance of every hyperparameter used inside it
(`filters` → `filters_1`, `filters_2`, ...), except those listed in `shared`. Instance `i` is
active only when the repeat count is at least `i`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ktrun.layers.base import LayerSpec
from ktrun.spec.base import Condition, HpName, Strict
from ktrun.spec.domains import NON_NEGATIVE_INT, Domain
from ktrun.spec.refs import IntArg

if TYPE_CHECKING:
    from ktrun.layers import Layer


class Repeat(Strict):
    """Repeat `layers` `times` times, each repetition with its own hyperparameter instances."""

    type: Literal["repeat"] = Field(description="A block of layers repeated `times` times.")
    times: IntArg = Field(
        description="A count, `$name` of an int/choice hyperparameter, or an expression of one "
        "(`num_layers - 2`)."
    )
    layers: list[Layer] = Field(min_length=1, description="The layers of one repetition, in order.")
    shared: list[HpName] = Field(
        default_factory=list,
        description="Hyperparameters that keep one value across repetitions.",
    )
    residual: bool = Field(
        False,
        description=(
            "Add each repetition's input to its output (`Add`), as ResNet blocks do; the block "
            "must keep the shape it receives."
        ),
    )
    name: str | None = Field(None, description="A name for the block, shown in errors.")
    when: Condition | None = Field(None, description="Add the block only under this condition.")


#: What `times` may be (check 2): zero repetitions is a block switched off.
DOMAINS: dict[str, Domain] = {"times": NON_NEGATIVE_INT}


def iter_layers(
    layers: Sequence[object], path: tuple[str | int, ...] = ("model", "layers")
) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """Every layer and repeat block with its key path, blocks and wrappers before the layers
    inside them (a wrapped layer at `model.layers.N.layer`)."""
    for i, layer in enumerate(layers):
        yield (*path, i), layer
        if isinstance(layer, Repeat):
            yield from iter_layers(layer.layers, (*path, i, "layers"))
        elif isinstance(layer, LayerSpec):
            yield from _wrapped((*path, i), layer)


def _wrapped(path: tuple[str | int, ...], layer: LayerSpec) -> Iterator[tuple[tuple[str | int, ...], object]]:
    for below, inner in layer.inner_layers():
        yield (*path, *below), inner
        yield from _wrapped((*path, *below), inner)
