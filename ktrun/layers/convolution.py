"""Conv1D and Conv2D: the output size per spatial axis is Keras' formula, in `conv_out`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import Activation, Initializer, LayerType, Padding, WeightedSpec
from ktrun.layers.shape_math import ShapeFailure, conv_out, format_shape, per_axis, size, spatial
from ktrun.spec.domains import ACTIVATION, BOOL, CONV1D_PADDING, INITIALIZER, PADDING, POSITIVE_INT
from ktrun.spec.refs import BoolArg, HpRef, IntArg, SizeArg

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape


class _Conv(WeightedSpec):
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
    type: Literal["Conv1D"]


class Conv2D(_Conv):
    type: Literal["Conv2D"]


def conv_shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """A convolution over the input's spatial axes (channels last), as Keras computes it."""
    a, t, rank = layer.args, layer.layer.type, len(shape) - 1
    k = per_axis(a["kernel_size"], rank)
    strides, dilation = per_axis(a["strides"], rank), per_axis(a["dilation_rate"], rank)
    if any((x or 1) > 1 for x in strides) and any((x or 1) > 1 for x in dilation):
        return ShapeFailure(
            "conv-strides-dilation",
            layer,
            f"{t} has strides {a['strides']} and dilation_rate {a['dilation_rate']}; Keras "
            "supports strides > 1 or dilation > 1, not both",
            "use strides 1 with dilation, or dilation 1 with strides",
        )
    out, bad = conv_out(shape[:-1], k, strides, dilation, a["padding"])
    if bad is not None:
        fits = min((d for d in shape[:-1] if d is not None), default=1)  # fits without padding
        return ShapeFailure(
            "kernel-too-large",
            layer,
            f"{t} kernel {'x'.join(str(x) for x in k)} does not fit its {format_shape(shape)} "
            f"input (padding '{a['padding']}' would give an output size <= 0)",
            f"{_kernel_fix(layer, fits)}, use `padding: same`, or pool less before this layer; "
            "or leave it: such points are excluded from the search",
            "kernel_size",
        )
    return (*out, size(a["filters"]))


def _kernel_fix(layer: ConcreteLayer, fits: int) -> str:
    """Constrain the hyperparameter (this repetition's instance) that sets the kernel, or lower
    the kernel written."""
    name = _kernel_name(layer)
    if name is None:
        return f"use a kernel_size of at most {fits}"
    return f"constrain the kernel (e.g. `{name} <= {fits}`)"


def _kernel_name(layer: ConcreteLayer) -> str | None:
    value = layer.layer.kernel_size if isinstance(layer.layer, _Conv) else None
    bases = [v.name for v in (value if isinstance(value, list) else [value]) if isinstance(v, HpRef)]
    for base in bases:
        for ref in layer.refs:
            if ref == base or ref.startswith(f"{base}_"):
                return ref
    return None


_SIZES = ("kernel_size", "strides", "dilation_rate")
_DOMAINS = {
    "filters": POSITIVE_INT,
    **dict.fromkeys(_SIZES, POSITIVE_INT),
    "padding": PADDING,
    "activation": ACTIVATION,
    "use_bias": BOOL,
    **dict.fromkeys(("kernel_initializer", "bias_initializer"), INITIALIZER),
}
_SHAPE_ARGS = ("filters", "kernel_size", "strides", "padding", "dilation_rate")

TYPES = (
    LayerType(
        spec=Conv1D,
        shape=spatial(1, conv_shape),
        domains={**_DOMAINS, "padding": CONV1D_PADDING},  # 'causal' too, for sequences
        shape_args=_SHAPE_ARGS,
        size_args=("filters",),
    ),
    LayerType(
        spec=Conv2D,
        shape=spatial(2, conv_shape),
        domains=_DOMAINS,
        shape_args=_SHAPE_ARGS,
        size_args=("filters",),
    ),
)
