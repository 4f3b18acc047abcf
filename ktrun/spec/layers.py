"""The model's layers: an allowlist of Keras layers, plus `repeat` blocks.

Any argument is a literal or `$name`. A `repeat` block is Keras Tuner's most common pattern
(`for i in range(hp.Int("num_blocks", 1, 3))`): each repetition gets its own instance of every
hyperparameter used inside it (`filters` → `filters_1`, `filters_2`, ...), except those listed
in `shared`. Instance `i` is active only when the repeat count is at least `i`.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Sequence
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from ktrun.spec import keras_names as kn
from ktrun.spec.base import Condition, HpName, Strict
from ktrun.spec.refs import (
    SERIALIZER,
    AnyArg,
    BoolArg,
    FloatArg,
    HpRef,
    IntArg,
    SizeArg,
    json_schema,
    validator,
)

Activation = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(kn.ACTIVATIONS))
]
Initializer = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(kn.INITIALIZERS))
]
Padding = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(kn.CONV1D_PADDINGS))
]


class _Layer(Strict):
    #: Arguments that decide output shapes; the shape check enumerates the values they take.
    shape_args: ClassVar[tuple[str, ...]] = ()
    #: Keys that tell ktrun about the layer and are not passed to its constructor.
    spec_only: ClassVar[tuple[str, ...]] = ()

    name: str | None = Field(None, description="Keras layer name (shown in errors and reports).")
    when: Condition | None = Field(None, description="Add this layer only under this condition.")


class Dense(_Layer):
    shape_args: ClassVar[tuple[str, ...]] = ("units",)
    type: Literal["Dense"]
    units: IntArg
    activation: Activation | None = None
    use_bias: BoolArg = True
    kernel_initializer: Initializer | None = None
    bias_initializer: Initializer | None = None


class Dropout(_Layer):
    type: Literal["Dropout"]
    rate: FloatArg


class Flatten(_Layer):
    type: Literal["Flatten"]


class Reshape(_Layer):
    type: Literal["Reshape"]
    target_shape: list[int] = Field(min_length=1, description="Per-sample shape; one -1 allowed.")


class BatchNormalization(_Layer):
    type: Literal["BatchNormalization"]
    momentum: FloatArg = 0.99
    epsilon: FloatArg = 0.001


class LayerNormalization(_Layer):
    type: Literal["LayerNormalization"]
    epsilon: FloatArg = 0.001


class Activation_(_Layer):
    type: Literal["Activation"]
    activation: Activation


class _Conv(_Layer):
    shape_args: ClassVar[tuple[str, ...]] = (
        "filters", "kernel_size", "strides", "padding", "dilation_rate",
    )  # fmt: skip
    rank: ClassVar[int] = 2
    filters: IntArg
    kernel_size: SizeArg
    strides: SizeArg = 1
    padding: Padding = "valid"
    dilation_rate: SizeArg = 1
    activation: Activation | None = None
    use_bias: BoolArg = True
    kernel_initializer: Initializer | None = None
    bias_initializer: Initializer | None = None


class Conv1D(_Conv):
    rank: ClassVar[int] = 1
    type: Literal["Conv1D"]


class Conv2D(_Conv):
    type: Literal["Conv2D"]


class _Pool(_Layer):
    shape_args: ClassVar[tuple[str, ...]] = ("pool_size", "strides", "padding")
    rank: ClassVar[int] = 2
    pool_size: SizeArg = 2
    strides: SizeArg | None = Field(None, description="Defaults to pool_size.")
    padding: Padding = "valid"


class MaxPooling1D(_Pool):
    rank: ClassVar[int] = 1
    type: Literal["MaxPooling1D"]


class MaxPooling2D(_Pool):
    type: Literal["MaxPooling2D"]


class AveragePooling1D(_Pool):
    rank: ClassVar[int] = 1
    type: Literal["AveragePooling1D"]


class AveragePooling2D(_Pool):
    type: Literal["AveragePooling2D"]


class _GlobalPool(_Layer):
    rank: ClassVar[int] = 2


class GlobalAveragePooling1D(_GlobalPool):
    rank: ClassVar[int] = 1
    type: Literal["GlobalAveragePooling1D"]


class GlobalAveragePooling2D(_GlobalPool):
    type: Literal["GlobalAveragePooling2D"]


class GlobalMaxPooling1D(_GlobalPool):
    rank: ClassVar[int] = 1
    type: Literal["GlobalMaxPooling1D"]


class GlobalMaxPooling2D(_GlobalPool):
    type: Literal["GlobalMaxPooling2D"]


class Embedding(_Layer):
    shape_args: ClassVar[tuple[str, ...]] = ("output_dim",)
    type: Literal["Embedding"]
    input_dim: IntArg = Field(description="Vocabulary size: largest token id + 1.")
    output_dim: IntArg


class _Recurrent(_Layer):
    shape_args: ClassVar[tuple[str, ...]] = ("units", "return_sequences")
    units: IntArg
    activation: Activation | None = None
    dropout: FloatArg = 0.0
    recurrent_dropout: FloatArg = 0.0
    return_sequences: BoolArg = False


class LSTM(_Recurrent):
    type: Literal["LSTM"]


class GRU(_Recurrent):
    type: Literal["GRU"]


class Custom(_Layer):
    """A layer class of your own, declared under `custom_objects.layers` (the opt-in).

    Every key besides `type`, `layer`, `output_shape`, `name` and `when` is passed to its
    constructor, `$name` references included. ktrun cannot see inside it: declare
    `output_shape` when it changes the per-sample shape, otherwise it is taken to keep it.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, AnyArg] = Field(init=False)

    type: Literal["custom"]
    layer: str = Field(description="Its name under `custom_objects.layers`.")
    shape_args: ClassVar[tuple[str, ...]] = ("output_shape",)
    spec_only: ClassVar[tuple[str, ...]] = ("layer", "output_shape")
    output_shape: SizeArg | None = Field(
        None,
        description="Per-sample output shape: sizes or references, e.g. `[$units]`; unset: unchanged.",
    )


class Repeat(Strict):
    """Repeat `layers` `times` times, each repetition with its own hyperparameter instances."""

    type: Literal["repeat"]
    times: IntArg = Field(description="A count, or `$name` of an int/choice hyperparameter.")
    layers: list[Layer] = Field(min_length=1)
    shared: list[HpName] = Field(
        default_factory=list,
        description="Hyperparameters that keep one value across repetitions.",
    )
    name: str | None = None
    when: Condition | None = None


KerasLayer = (
    Dense | Dropout | Flatten | Reshape | BatchNormalization | LayerNormalization | Activation_
    | Conv1D | Conv2D | MaxPooling1D | MaxPooling2D | AveragePooling1D | AveragePooling2D
    | GlobalAveragePooling1D | GlobalAveragePooling2D | GlobalMaxPooling1D | GlobalMaxPooling2D
    | Embedding | LSTM | GRU | Custom
)  # fmt: skip
Layer = Annotated[KerasLayer | Repeat, Field(discriminator="type")]
Repeat.model_rebuild()

#: Keras' own layers that ktrun builds by name (`custom` is the user's class, declared).
LAYER_TYPES: tuple[str, ...] = tuple(
    typing.get_args(c.model_fields["type"].annotation)[0]
    for c in typing.get_args(KerasLayer)
    if c is not Custom
)


def iter_layers(
    layers: Sequence[object], path: tuple[str | int, ...] = ("model", "layers")
) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """Every layer and repeat block with its key path, blocks before the layers inside them."""
    for i, layer in enumerate(layers):
        yield (*path, i), layer
        if isinstance(layer, Repeat):
            yield from iter_layers(layer.layers, (*path, i, "layers"))
