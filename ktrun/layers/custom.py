"""`type: custom`: a layer class of the user's own, the one opt-in to importing their code.

ktrun cannot see inside it: its shape is what `output_shape` declares (unchanged when unset),
and its arguments are the class's business, so none is range-checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from ktrun.layers.base import LayerSpec, LayerType, keras_kwargs
from ktrun.spec.refs import AnyArg, SizeArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class Custom(LayerSpec):
    """A layer class of your own, declared under `custom_objects.layers` (the opt-in).

    Every key besides `type`, `layer`, `output_shape`, `name` and `when` is passed to its
    constructor, `$name` references included. ktrun cannot see inside it: declare
    `output_shape` when it changes the per-sample shape, otherwise it is taken to keep it.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, AnyArg] = Field(init=False)

    type: Literal["custom"]
    layer: str = Field(description="Its name under `custom_objects.layers`.")
    #: Keys that tell ktrun about the layer and are not passed to its constructor.
    spec_only: ClassVar[tuple[str, ...]] = ("layer", "output_shape")
    output_shape: SizeArg | None = Field(
        None,
        description="Per-sample output shape: sizes or references, e.g. `[$units]`; unset: unchanged.",
    )


def _shape(layer: ConcreteLayer, shape: Shape) -> Shape:
    declared = layer.args.get("output_shape")
    if declared is None:
        return shape
    sizes = declared if isinstance(declared, list) else [declared]
    return tuple(d if isinstance(d, int) else None for d in sizes)


def _kwargs(layer: ConcreteLayer) -> dict[str, Any]:
    return keras_kwargs(layer, drop=Custom.spec_only)


def _entry(spec: Custom) -> str:
    return spec.layer


TYPES = (
    LayerType(
        spec=Custom,
        shape=_shape,
        custom_object=_entry,
        kwargs=_kwargs,
        shape_args=("output_shape",),
        params=lambda layer, given, out: None,  # your class's weights are its own business
        flops=lambda layer, given, out: None,  # and so are its operations
    ),
)
