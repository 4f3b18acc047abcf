"""Check 6, the output: the model's output against its target, for every kind of target.

One class per sample, several labels per sample (multi-hot), one class per time step, real
targets of any shape, the input itself (autoencoders): each asks for an output shape
(`ktrun.data.target.output_shape`) and a final activation that fits its loss. The shapes come
from the shape walk at a reference point, the output width from every value the output layer's
`units`/`filters` can take; each hint names the fix the language offers (the argument to set,
the layer to add or remove).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ktrun import problems as pb
from ktrun.analysis.shapes import ShapeTrace
from ktrun.checks.context import Ctx
from ktrun.config.provenance import KeyPath
from ktrun.data.target import output_shape
from ktrun.layers import REGISTRY
from ktrun.layers.activation import Activation_
from ktrun.layers.base import ConcreteLayer, LayerSpec
from ktrun.layers.core import same_shape
from ktrun.layers.repeat import Repeat, iter_layers
from ktrun.layers.shape_math import format_shape
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn
from ktrun.spec.refs import HpRef

Want = tuple[int | None, ...]


@dataclass(frozen=True)
class _Output:
    """The layer that decides the model's output width, and the activation applied last."""

    path: KeyPath
    layer: object
    activation: object
    activation_path: KeyPath
    #: Types of the shape-keeping layers after it (Dropout, Activation, normalisation).
    after: tuple[str, ...]

    @property
    def width_arg(self) -> str | None:
        """The argument that sets the output's last axis (Dense units, convolution filters)."""
        return next((a for a in ("units", "filters") if hasattr(self.layer, a)), None)

    @property
    def type(self) -> str:
        return str(getattr(self.layer, "type", "layer"))


def output_layer(layers: Sequence[object]) -> _Output:
    flat = [(path, layer) for path, layer in iter_layers(layers) if not isinstance(layer, Repeat)]
    after: list[str] = []
    act: tuple[object, KeyPath] | None = None  # the last Activation layer, if one follows
    for path, layer in reversed(flat):
        kind = REGISTRY.get(getattr(layer, "type", ""))
        if kind is None or kind.shape is not same_shape:
            head_path, head = _unwrapped(path, layer)
            act = act or (getattr(head, "activation", None), (*head_path, "activation"))
            return _Output(head_path, head, act[0], act[1], tuple(reversed(after)))
        after.append(kind.type)
        if act is None and isinstance(layer, Activation_):
            act = (layer.activation, (*path, "activation"))
    path, layer = flat[0]
    act = act or (None, (*path, "activation"))
    return _Output(path, layer, act[0], act[1], tuple(reversed(after)))


def _unwrapped(path: KeyPath, layer: object) -> tuple[KeyPath, object]:
    """A wrapper's layer decides the width and the activation (TimeDistributed's Dense)."""
    while isinstance(inner := getattr(layer, "layer", None), LayerSpec):
        path, layer = (*path, "layer"), inner
    return path, layer


def check_output(ctx: Ctx) -> Iterator[Problem]:
    """The output against the target: rank and shape, width, final activation. Layers that keep
    their input's shape (Dropout, Activation, normalisation) may follow the output layer; an
    Activation among them is the final activation."""
    outputs = ctx.spec.model.outputs
    last = ctx.spec.model.layers[-1] if ctx.spec.model.layers else None
    if outputs and (len(outputs) > 1 or outputs[0].loss or outputs[0].layer != getattr(last, "name", None)):
        return  # a graph's own outputs: each one's labels are its own array (ktrun.data.named)
    kind = kn.LOSSES.get(ctx.spec.model.compile.loss.name)
    want = output_shape(ctx.expect, ctx.target_shape, ctx.data.num_classes, one_unit(ctx, kind))
    output = output_layer(ctx.spec.model.layers)
    trace = ctx.feasibility.reference_trace if ctx.input_shape is not None else None
    if trace is not None and trace.failure is None and trace.steps:
        problem = _shape(ctx, trace, want, output)
        if problem is not None:
            yield problem
            return
    yield from _width(ctx, output, want, kind)
    yield from _activation(ctx, output, kind)


def one_unit(ctx: Ctx, kind: str | None) -> bool:
    """The loss takes one unit for two classes: binary losses, and overlap losses (dice,
    tversky) on sparse labels."""
    return kind == "binary" or (kind == "overlap" and ctx.spec.data.labels == "sparse")


# ---------------------------------------------------------------- rank and shape


def _rank(ctx: Ctx, want: Want | None) -> int | None:
    if ctx.expect.classifies:
        return 1 + ctx.expect.label_rank()
    return len(want) if want is not None else None


def _target_text(ctx: Ctx, want: Want | None) -> str:
    e, shown = ctx.expect, format_shape(want) if want is not None else ""
    if e.task == "reconstruction":
        return f"the target is the input, {shown}"
    if e.task == "regression":
        return f"the targets need {shown}" if want is not None else "the targets have another rank"
    if e.per_step:
        return f"the labels have one class per time step, which needs {shown or '(time steps, classes)'}"
    if e.labels == "multi_hot":
        return f"each label is a multi-hot row, which needs {shown or '(labels,)'}"
    return f"each label is one {'value' if e.labels == 'sparse' else 'row'}"


def _shape(ctx: Ctx, trace: ShapeTrace, want: Want | None, output: _Output) -> Problem | None:
    out = trace.output
    last = trace.steps[-1][0]
    rank = _rank(ctx, want)
    if rank is not None and len(out) != rank:
        return pb.error(
            "output-rank",
            last.path,
            f"the model outputs {format_shape(out)} per sample, but {_target_text(ctx, want)}",
            _rank_hint(ctx, trace, want),
        )
    if want is None:
        return None
    # The last axis is the output layer's width, checked below with every value it can take.
    axes = len(out) - 1 if output.width_arg is not None else len(out)
    if all(w is None or o == w for o, w in zip(out[:axes], want[:axes], strict=False)):
        return None
    return pb.error(
        "output-shape-mismatch",
        last.path,
        f"the model outputs {format_shape(out)} per sample, but {_target_text(ctx, want)}"
        + (f" ({out[0]} time steps against the labels' {want[0]})" if ctx.expect.per_step else ""),
        _shape_hint(ctx, trace, want),
    )


def _sequence_layer(trace: ShapeTrace) -> tuple[ConcreteLayer, str] | None:
    """The last layer that can keep or drop the time axis (LSTM's `return_sequences`, also
    inside Bidirectional), and that argument."""
    for layer, _ in reversed(trace.steps):
        holder = layer.sequence_holder()
        if holder is not None:
            return holder
    return None


def _merging_layer(trace: ShapeTrace) -> ConcreteLayer | None:
    """The last layer that turned a sequence (steps, features) into one vector (Flatten, pooling)."""
    found, shape = None, trace.input_shape
    for layer, out in trace.steps:
        if len(shape) == 2 and len(out) == 1 and layer.kind.sequence_arg is None:
            found = layer
        shape = out
    return found


def _rank_hint(ctx: Ctx, trace: ShapeTrace, want: Want | None) -> str:
    e, out = ctx.expect, trace.output
    seq = _sequence_layer(trace)
    if e.classifies and not e.per_step:
        if seq is not None and seq[0].args.get(seq[1]) is True and len(out) == 2:
            return (
                f"set `{seq[1]}: false` on the {seq[0].label} for one label per sample, or "
                "`data.per_step: true` for one label per time step (sequence labelling)"
            )
        pool = "GlobalAveragePooling1D" if len(out) == 2 else "GlobalAveragePooling2D"
        return f"add Flatten (or {pool}) before the final Dense layer" + (
            "; or, for one label per time step (sequence labelling), set data.per_step: true"
            if len(out) == 2
            else ""
        )
    if e.classifies:  # one label per time step: (steps, classes)
        if len(out) == 1 and seq is not None and seq[0].args.get(seq[1]) is not True:
            inside = (
                f" (in a repeat block: every repetition, no `last: {{{seq[1]}: false}}`)"
                if seq[0].index
                else ""
            )
            return f"set `{seq[1]}: true` on the {seq[0].label}{inside}, so each time step gets a prediction"
        merge = _merging_layer(trace)
        if len(out) == 1 and merge:
            return f"remove the {merge.label}: per-step labels need the time steps it merges"
        return "keep the time axis to the end: the final Dense must see (steps, features)"
    assert want is not None  # a rank is known only with a target shape
    return _decoder(ctx, trace, want) + _reshape_hint(out, want)


def _decoder(ctx: Ctx, trace: ShapeTrace, want: Want) -> str:
    """For autoencoders, the hint starts with the layer the user must change."""
    if ctx.expect.task != "reconstruction":
        return ""
    return f"the decoder's last layer, the {trace.steps[-1][0].label}, must output {format_shape(want)}: "


def _reshape_hint(out: Want, want: Want) -> str:
    """From any output to the target's shape with the layers the language has."""
    n = math.prod(d or 0 for d in want)
    if len(want) == 1:
        return f"add Flatten before the final `{{type: Dense, units: {want[0]}}}`"
    if math.prod(d or 0 for d in out) == n:
        return f"add `{{type: Reshape, target_shape: {list(want)}}}` at the end"
    flat = "Flatten, then " if len(out) > 1 else ""
    return f"end with {flat}`{{type: Dense, units: {n}}}` and `{{type: Reshape, target_shape: {list(want)}}}`"


def _shape_hint(ctx: Ctx, trace: ShapeTrace, want: Want) -> str:
    e, out = ctx.expect, trace.output
    if e.per_step:
        changed = _first_change(trace, 0)
        by = f" (the {changed.label} changes it)" if changed is not None else ""
        return f"keep every time step{by}: no pooling, strides or cropping along time, padding: same"
    if e.task == "reconstruction" and len(out) == len(want) and len(out) >= 2:
        last = _decoder(ctx, trace, want)
        if any((o or 0) < (w or 0) for o, w in zip(out[:-1], want[:-1], strict=True)):
            return (
                f"{last}undo each pooling of the encoder with an UpSampling (or a Conv2DTranspose "
                "with strides), with padding: same"
            )
        return f"{last}crop the decoder's output (Cropping) or use padding: same"
    return _decoder(ctx, trace, want) + _reshape_hint(out, want)


def _first_change(trace: ShapeTrace, axis: int) -> ConcreteLayer | None:
    """The first layer whose output's `axis` differs from the input's (the time axis, say)."""
    start = trace.input_shape[axis] if len(trace.input_shape) > axis else None
    for layer, out in trace.steps:
        if len(out) > axis + 1 and out[axis] != start:
            return layer
    return None


# ---------------------------------------------------------------- width


def _width(ctx: Ctx, output: _Output, want: Want | None, kind: str | None) -> Iterator[Problem]:
    arg, e = output.width_arg, ctx.expect
    need = want[-1] if want else None
    if arg is None or need is None or (arg == "filters" and e.classifies):
        return
    values = ctx.possible(getattr(output.layer, arg)) or []
    wrong = [v for v in values if v != need]
    if not wrong:
        return
    loss = ctx.spec.model.compile.loss.name
    has = f"the output layer is a {output.type} of {wrong[0]} {arg if wrong[0] != 1 else arg[:-1]}"
    if not e.classifies:
        if e.task == "reconstruction":
            msg = f"{has}, but the target is the input, {format_shape(want or ())}"
        elif want == (1,):
            msg = f"{has}, but the target is one value per sample"
        else:
            msg = f"{has}, but the targets need {format_shape(want or ())}"
        hidden = arg == "units" and output.activation not in (None, "linear") and need not in values
        decoder = " (the decoder's last layer)" if e.task == "reconstruction" else ""
        hint = (
            f"add an output layer `{{type: Dense, units: {need}}}` at the end"
            if hidden
            else f"set {arg}: {need} on that layer{decoder}"
        )
    elif e.labels == "multi_hot":
        msg = f"{has}, but the labels are multi-hot rows of {need}"
        hidden = output.activation not in ("sigmoid", "softmax") and need not in values
        final = f"{{type: Dense, units: {need}, activation: sigmoid}}"
        hint = (
            f"add an output layer `{final}` at the end"
            if hidden
            else f"set units: {need} on that layer (one sigmoid unit per label)"
        )
    else:
        binary = one_unit(ctx, kind)
        msg = (
            f"{has}, but {loss} needs 1"
            if binary
            else f"{has} but the data has {ctx.data.num_classes} classes"
        )
        final = f"{{type: Dense, units: {need}, activation: {'sigmoid' if binary else 'softmax'}}}"
        hidden = output.activation not in ("softmax", "sigmoid") and need not in values
        hint = (
            f"add an output layer `{final}` at the end"
            if hidden
            else f"set units: {need} on that layer"
            + (" (binary losses use one sigmoid unit)" if binary else "")
        )
    if output.after:
        msg += f" (the layers after it keep its width: {', '.join(output.after)})"
    yield pb.error("output-units-mismatch", (*output.path, arg), msg, hint)


# ---------------------------------------------------------------- final activation


def _activation(ctx: Ctx, output: _Output, kind: str | None) -> Iterator[Problem]:
    act, where = output.activation, output.activation_path
    loss = ctx.spec.model.compile.loss
    logits = loss.from_logits or False
    if isinstance(act, HpRef) or isinstance(logits, HpRef):
        return
    multi = ctx.expect.labels == "multi_hot" and ctx.expect.classifies
    binary = kind == "binary" and loss.name in kn.LOGIT_LOSSES
    if act == "softmax" and (multi or binary):
        yield pb.error(
            "output-activation-mismatch",
            where,
            "a softmax output makes the scores sum to 1, so a sample cannot have several labels, "
            + ("but data.labels is multi_hot" if multi else f"but {loss.name} scores each unit on its own"),
            "use `activation: sigmoid` on the last layer (one independent unit per label)",
        )
        return
    if loss.name not in kn.LOGIT_LOSSES:
        return
    final = "sigmoid" if kind == "binary" else "softmax"
    if logits and act in ("softmax", "sigmoid"):
        yield pb.warning(
            "logits-mismatch",
            where,
            f"the last layer applies {act}, but the loss says from_logits: true",
            "drop the final activation, or set loss.from_logits: false",
        )
    elif not logits and act in (None, "linear"):
        yield pb.warning(
            "logits-mismatch",
            where,
            f"the last layer has no {final}, so its outputs are logits, but the loss expects probabilities",
            f"add `activation: {final}` to the last layer, or set loss.from_logits: true",
        )
    elif act == "sigmoid" and kind in ("sparse", "one_hot"):
        yield pb.warning(
            "logits-mismatch",
            where,
            "a sigmoid output with a categorical loss does not give class probabilities",
            "use `activation: softmax` on the last layer",
        )
