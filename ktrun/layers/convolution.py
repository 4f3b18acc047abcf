"""Convolutions over 1 or 2 spatial axes: Conv, SeparableConv, DepthwiseConv (the output size per
axis is Keras' formula, in `conv_out`) and ConvTranspose (which grows the map, `conv_transpose_out`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from ktrun.layers.base import (
    WEIGHT_DOMAINS,
    Activation,
    LayerSpec,
    LayerType,
    Padding,
    Regularizer,
    WeightConstraint,
    WeightedSpec,
    WeightInitializer,
    flag,
    product,
)
from ktrun.layers.shape_math import (
    ShapeFailure,
    conv_out,
    conv_transpose_out,
    format_shape,
    per_axis,
    size,
    spatial,
)
from ktrun.spec.domains import (
    ACTIVATION,
    BOOL,
    CONSTRAINT,
    CONV1D_PADDING,
    INITIALIZER,
    NON_NEGATIVE_INT,
    PADDING,
    POSITIVE_INT,
)
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


class Conv1D(_Conv):
    type: Literal["Conv1D"]


class Conv2D(_Conv):
    type: Literal["Conv2D"]


class _ConvTranspose(_Conv):
    output_padding: SizeArg | None = None


class Conv1DTranspose(_ConvTranspose):
    type: Literal["Conv1DTranspose"]


class Conv2DTranspose(_ConvTranspose):
    type: Literal["Conv2DTranspose"]


class _Depthwise(LayerSpec):
    """One filter per input channel (`depth_multiplier` of them): its weights are `depthwise_*`."""

    kernel_size: SizeArg
    strides: SizeArg = 1
    padding: Padding = "valid"
    depth_multiplier: IntArg = 1
    dilation_rate: SizeArg = 1
    activation: Activation | None = None
    use_bias: BoolArg = True
    depthwise_initializer: WeightInitializer | None = None
    bias_initializer: WeightInitializer | None = None
    depthwise_regularizer: Regularizer | None = None
    bias_regularizer: Regularizer | None = None
    activity_regularizer: Regularizer | None = None
    depthwise_constraint: WeightConstraint | None = None
    bias_constraint: WeightConstraint | None = None


class DepthwiseConv1D(_Depthwise):
    type: Literal["DepthwiseConv1D"]


class DepthwiseConv2D(_Depthwise):
    type: Literal["DepthwiseConv2D"]


class _Separable(_Depthwise):
    """A depthwise convolution, then a 1x1 (`pointwise_*`) one to `filters` channels."""

    filters: IntArg
    pointwise_initializer: WeightInitializer | None = None
    pointwise_regularizer: Regularizer | None = None
    pointwise_constraint: WeightConstraint | None = None


class SeparableConv1D(_Separable):
    type: Literal["SeparableConv1D"]


class SeparableConv2D(_Separable):
    type: Literal["SeparableConv2D"]


def _filters(layer: ConcreteLayer, shape: Shape) -> int | None:
    return size(layer.args["filters"])


def _depthwise_channels(layer: ConcreteLayer, shape: Shape) -> int | None:
    """Keras' `depth_multiplier * input_channel`."""
    m, c = size(layer.args["depth_multiplier"]), shape[-1]
    return None if m is None or c is None else m * c


def conv_shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """A convolution over the input's spatial axes (channels last), as Keras computes it."""
    return _windowed(layer, shape, _filters)


def _separable_shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    return _windowed(layer, shape, _filters, strided_dilation=True)


def _depthwise_shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    return _windowed(layer, shape, _depthwise_channels, strided_dilation=True)


def _windowed(
    layer: ConcreteLayer,
    shape: Shape,
    channels: Callable[[ConcreteLayer, Shape], int | None],
    strided_dilation: bool = False,
) -> Shape | ShapeFailure:
    """`strided_dilation`: Keras' depthwise and separable layers take strides and dilation > 1
    together; its plain convolutions refuse them."""
    a, t, rank = layer.args, layer.layer.type, len(shape) - 1
    k = per_axis(a["kernel_size"], rank)
    strides, dilation = per_axis(a["strides"], rank), per_axis(a["dilation_rate"], rank)
    if not strided_dilation and any((x or 1) > 1 for x in strides) and any((x or 1) > 1 for x in dilation):
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
    return (*out, channels(layer, shape))


def _transpose_shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """Keras' `compute_conv_transpose_output_shape`: the map grows by the strides."""
    a, t, rank = layer.args, layer.layer.type, len(shape) - 1
    k = per_axis(a["kernel_size"], rank)
    strides, dilation = per_axis(a["strides"], rank), per_axis(a["dilation_rate"], rank)
    extra = None if a.get("output_padding") is None else per_axis(a["output_padding"], rank)
    if any((x or 1) > 1 for x in strides) and any((x or 1) > 1 for x in dilation):
        return ShapeFailure(
            "conv-strides-dilation",
            layer,
            f"{t} has strides {a['strides']} and dilation_rate {a['dilation_rate']}; Keras "
            "supports strides > 1 or dilation > 1, not both",
            "use strides 1 with dilation, or dilation 1 with strides",
        )
    if extra is not None and any(
        p is not None and s is not None and p >= s for p, s in zip(extra, strides, strict=True)
    ):
        return ShapeFailure(
            "output-padding-too-large",
            layer,
            f"{t} has output_padding {a['output_padding']} and strides {a['strides']}; each "
            "output_padding must be smaller than the stride on its axis",
            "lower output_padding below the strides, or leave it unset (Keras infers it)",
            "output_padding",
        )
    out = conv_transpose_out(shape[:-1], k, strides, dilation, a["padding"], extra)
    return (*out, size(a["filters"]))


def _kernel_fix(layer: ConcreteLayer, fits: int) -> str:
    """Constrain the hyperparameter (this repetition's instance) that sets the kernel, or lower
    the kernel written."""
    name = _kernel_name(layer)
    if name is None:
        return f"use a kernel_size of at most {fits}"
    return f"constrain the kernel (e.g. `{name} <= {fits}`)"


def _kernel_name(layer: ConcreteLayer) -> str | None:
    value = getattr(layer.layer, "kernel_size", None)
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
    **WEIGHT_DOMAINS,
}
_SHAPE_ARGS = ("filters", "kernel_size", "strides", "padding", "dilation_rate")
_DEPTHWISE_DOMAINS = {
    **{k: v for k, v in _DOMAINS.items() if k != "filters" and not k.startswith("kernel_")},
    "depth_multiplier": POSITIVE_INT,
    "depthwise_initializer": INITIALIZER,
    "depthwise_constraint": CONSTRAINT,
}
_DEPTHWISE_SHAPE_ARGS = ("depth_multiplier", "kernel_size", "strides", "padding", "dilation_rate")


def _kernel(layer: ConcreteLayer, rank: int) -> int | None:
    return product(per_axis(layer.args["kernel_size"], rank))


def _conv_params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """Kernel (k..., in, filters) for a convolution, (k..., filters, in) transposed: the same count."""
    k, c, f = _kernel(layer, len(out) - 1), given[0][-1], out[-1]
    if k is None or c is None or f is None:
        return None
    return k * c * f + (f if flag(layer, "use_bias", True) else 0)


def _depthwise_params(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """A (k..., in, depth_multiplier) kernel; with `filters` (separable), a 1x1 one to them too."""
    k, c, m = _kernel(layer, len(out) - 1), given[0][-1], size(layer.args["depth_multiplier"])
    if k is None or c is None or m is None or out[-1] is None:
        return None
    pointwise = c * m * out[-1] if "filters" in layer.args else 0
    return k * c * m + pointwise + (out[-1] if flag(layer, "use_bias", True) else 0)


def _conv_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """A multiply-add per kernel weight at each output position, and the bias per output value."""
    k, c, values = _kernel(layer, len(out) - 1), given[0][-1], product(out)
    if k is None or c is None or values is None:
        return None
    return 2 * k * c * values + (values if flag(layer, "use_bias", True) else 0)


def _transpose_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """Each input position spreads a (k..., filters) kernel per input channel onto the output: the
    multiply-adds are over the input's positions (TF's profiler counts the output's, padding
    included, so it overstates these)."""
    k, c, f = _kernel(layer, len(out) - 1), given[0][-1], out[-1]
    positions, values = product(given[0][:-1]), product(out)
    if k is None or c is None or f is None or positions is None or values is None:
        return None
    return 2 * k * c * f * positions + (values if flag(layer, "use_bias", True) else 0)


def _depthwise_flops(layer: ConcreteLayer, given: tuple[Shape, ...], out: Shape) -> int | None:
    """A k-window per input channel and multiplier at each position; separable adds the 1x1
    convolution to `filters`."""
    k, c, m = _kernel(layer, len(out) - 1), given[0][-1], size(layer.args["depth_multiplier"])
    positions, values = product(out[:-1]), product(out)
    if k is None or c is None or m is None or positions is None or values is None:
        return None
    pointwise = 2 * c * m * values if "filters" in layer.args else 0
    return 2 * k * c * m * positions + pointwise + (values if flag(layer, "use_bias", True) else 0)


def _padded_kernel(spec: _Depthwise | _Conv) -> tuple[str, ...]:
    """With `same` (or `causal`) padding written out, on every repetition, the output is the input
    over the strides (a transposed one's: times them, without output_padding): the kernel's size
    changes nothing of it."""
    changed = any("padding" in (getattr(spec, p, None) or {}) for p in ("first", "last"))
    if spec.padding not in ("same", "causal") or changed or getattr(spec, "output_padding", None) is not None:
        return ()
    return ("kernel_size",)


def _conv(spec: type[_Conv], rank: int) -> LayerType:
    return LayerType(
        spec=spec,
        inert=_padded_kernel,
        params=_conv_params,
        flops=_conv_flops,
        shape=spatial(rank, conv_shape),
        domains={**_DOMAINS, "padding": CONV1D_PADDING} if rank == 1 else _DOMAINS,  # 'causal' too
        shape_args=_SHAPE_ARGS,
        size_args=("filters",),
    )


def _transpose(spec: type[_ConvTranspose], rank: int) -> LayerType:
    return LayerType(
        spec=spec,
        inert=_padded_kernel,
        params=_conv_params,
        flops=_transpose_flops,
        shape=spatial(rank, _transpose_shape),
        domains={**_DOMAINS, "output_padding": NON_NEGATIVE_INT},
        shape_args=(*_SHAPE_ARGS, "output_padding"),
        size_args=("filters",),
    )


def _depthwise(spec: type[_Depthwise], rank: int) -> LayerType:
    return LayerType(
        spec=spec,
        inert=_padded_kernel,
        params=_depthwise_params,
        flops=_depthwise_flops,
        shape=spatial(rank, _depthwise_shape),
        domains=_DEPTHWISE_DOMAINS,
        shape_args=_DEPTHWISE_SHAPE_ARGS,
        size_args=("depth_multiplier",),
    )


def _separable(spec: type[_Separable], rank: int) -> LayerType:
    return LayerType(
        spec=spec,
        inert=_padded_kernel,
        params=_depthwise_params,
        flops=_depthwise_flops,
        shape=spatial(rank, _separable_shape),
        domains={
            **_DEPTHWISE_DOMAINS,
            "filters": POSITIVE_INT,
            "pointwise_initializer": INITIALIZER,
            "pointwise_constraint": CONSTRAINT,
        },
        shape_args=("filters", *_DEPTHWISE_SHAPE_ARGS[1:]),
        size_args=("filters",),
    )


TYPES = (
    _conv(Conv1D, 1),
    _conv(Conv2D, 2),
    _separable(SeparableConv1D, 1),
    _separable(SeparableConv2D, 2),
    _depthwise(DepthwiseConv1D, 1),
    _depthwise(DepthwiseConv2D, 2),
    _transpose(Conv1DTranspose, 1),
    _transpose(Conv2DTranspose, 2),
)
