"""Every layer type ktrun knows, one module per family, and the registry everything reads.

The spec's discriminated union (`Layer`), the argument checks, the shape walk and the Keras
builder all read `REGISTRY`, so a layer type is added in one module. For Conv3D, in
`convolution.py`: its spec (`type: Literal["Conv3D"]` and its arguments), its shape
rule (Keras' output-size formula, on the helpers of `ktrun.analysis.shapes`), and a `LayerType`
in that module's `TYPES` with `domains` and `shape_args`/`size_args`. A new
family module is also listed in `_FAMILIES` below. A type missing its shape rule or its
construction is refused at import (`LayerTypeError`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias, Union

from pydantic import Field

from ktrun.layers import (
    activation,
    applications,
    attention,
    convolution,
    core,
    custom,
    dense,
    embedding,
    merge,
    noise,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    resampling,
    wrappers,
)
from ktrun.layers.base import LayerSpec, LayerType, LayerTypeError, build_registry
from ktrun.layers.repeat import Repeat, iter_layers

#: Families in the order `type` values are listed (schema, "allowed: ..." hints).
_FAMILIES = (
    dense,
    core,
    normalization,
    activation,
    noise,
    convolution,
    pooling,
    resampling,
    preprocessing,
    embedding,
    recurrent,
    wrappers,
    applications,
    merge,
    attention,
    custom,
)

REGISTRY: dict[str, LayerType] = build_registry(
    (t for family in _FAMILIES for t in family.TYPES), reserved=("repeat",)
)

#: Keras' own layers and networks that ktrun builds by name (`custom` is the user's class, declared).
LAYER_TYPES: tuple[str, ...] = tuple(n for n, t in REGISTRY.items() if t.custom_object is None)

if TYPE_CHECKING:
    Layer: TypeAlias = LayerSpec | Repeat
    SingleLayer: TypeAlias = LayerSpec
else:
    Layer = Annotated[
        Union[(*(t.spec for t in REGISTRY.values()), Repeat)],
        Field(discriminator="type"),
    ]
    #: What a wrapper holds under `layer:`: one layer, not a repeat block.
    SingleLayer = Annotated[
        Union[tuple(t.spec for t in REGISTRY.values())],  # noqa: UP007 (a union built at runtime)
        Field(discriminator="type"),
    ]
wrappers.TimeDistributed.model_rebuild(_types_namespace={"SingleLayer": SingleLayer})
Repeat.model_rebuild(_types_namespace={"Layer": Layer})

__all__ = [
    "LAYER_TYPES",
    "REGISTRY",
    "Layer",
    "LayerSpec",
    "LayerType",
    "LayerTypeError",
    "Repeat",
    "iter_layers",
]
