"""Check 6: the model against the data: input and output shapes, loss, metrics, optimizer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ktrun import problems as pb
from ktrun.checks.common import unknown_name
from ktrun.checks.context import Ctx
from ktrun.config.provenance import KeyPath
from ktrun.layers import REGISTRY
from ktrun.layers.activation import Activation_
from ktrun.layers.core import same_shape
from ktrun.layers.dense import Dense
from ktrun.layers.repeat import Repeat, iter_layers
from ktrun.layers.shape_math import format_shape
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn
from ktrun.spec.refs import HpRef

COMPILE = ("model", "compile")


def check_data_model(ctx: Ctx) -> Iterator[Problem]:
    spec = ctx.spec
    yield from ctx.data.problems
    declared = spec.model.input_shape
    if declared and ctx.data.input_shape and tuple(declared) != ctx.data.input_shape:
        yield pb.error(
            "input-shape-mismatch",
            ("model", "input_shape"),
            f"model.input_shape {list(declared)} does not match the data: "
            f"{spec.data.source} samples have shape {list(ctx.data.input_shape)}",
            "remove model.input_shape to take it from the data, or add a Reshape layer first",
        )
    if spec.fit.class_weight is not None and spec.data.task != "classification":
        yield pb.error(
            "class-weight-regression",
            ("fit", "class_weight"),
            f"class weights need classes, but data.task is {spec.data.task}",
            "remove fit.class_weight (or set data.task: classification)",
        )
    yield from _loss_and_labels(ctx)
    yield from _metrics(ctx)
    yield from _optimizer(ctx)
    yield from _output(ctx)


def _loss_and_labels(ctx: Ctx) -> Iterator[Problem]:
    spec, loss = ctx.spec, ctx.spec.model.compile.loss
    at = (*COMPILE, "loss")
    kind = kn.LOSSES.get(loss.name)
    if kind is None:
        yield unknown_name("unknown-loss", at, "loss", loss.name, list(kn.LOSSES), "losses")
        return
    yield from _unused_arguments("loss-arg-unused", "loss", loss.name, loss.arguments(), kn.LOSS_ARGS, at)
    classes = ctx.data.num_classes
    if spec.data.task == "regression":
        if kind != "regression":
            yield pb.error(
                "loss-label-mismatch",
                at,
                f"`{loss.name}` is a classification loss but data.task is regression",
                "use mse, mae or huber for regression",
            )
        return
    if kind == "regression":
        yield pb.warning(
            "loss-label-mismatch",
            at,
            f"`{loss.name}` is a regression loss but data.task is classification",
            "use sparse_categorical_crossentropy for integer class labels",
        )
    elif kind in ("sparse", "one_hot") and kind != spec.data.labels:
        right = (
            "sparse_categorical_crossentropy"
            if spec.data.labels == "sparse"
            else ("categorical_crossentropy")
        )
        yield pb.error(
            "loss-label-mismatch",
            at,
            f"`{loss.name}` expects {'integer' if kind == 'sparse' else 'one-hot'} labels but "
            f"data.labels is {spec.data.labels}",
            f"use loss `{right}`, or set data.labels: {kind}",
        )
    elif kind == "overlap" and spec.data.labels == "sparse" and classes is not None and classes > 2:
        yield pb.error(
            "loss-label-mismatch",
            at,
            f"`{loss.name}` compares one-hot rows with the output, but data.labels is sparse "
            f"and the data has {classes} classes",
            "set data.labels: one_hot",
        )
    elif kind == "binary" and classes is not None and classes > 2:
        yield pb.error(
            "loss-label-mismatch",
            at,
            f"`{loss.name}` is for two classes but the data has {classes}",
            f"use sparse_categorical_crossentropy with a softmax output of {classes} units",
        )


def _unused_arguments(
    code: str, what: str, name: str, given: dict[str, object], table: dict[str, frozenset[str]], at: KeyPath
) -> Iterator[Problem]:
    """Each argument set on a loss or metric is one its Keras class takes (like the optimizer's)."""
    takes = table[name]
    for arg in given:
        if arg in takes:
            continue
        which = [n for n, args in table.items() if arg in args]
        yield pb.error(
            code,
            (*at, arg),
            f"`{arg}` is not an argument of {what} `{name}`",
            (f"`{name}` takes {', '.join(sorted(takes))}" if takes else f"`{name}` takes no arguments")
            + f"; remove `{arg}`, or use a {what} that takes it ({', '.join(which)})",
        )


def _metrics(ctx: Ctx) -> Iterator[Problem]:
    metrics = ctx.spec.model.compile.metrics
    logged: dict[str, int | None] = {"loss": None}  # logged name → the entry that logs it
    for i, metric in enumerate(metrics):
        m = metric.name
        at = (*COMPILE, "metrics", i)
        if m not in kn.METRICS:
            yield unknown_name("unknown-metric", at, "metric", m, list(kn.METRICS), "metrics")
            continue
        yield from _unused_arguments("metric-arg-unused", "metric", m, metric.arguments(), kn.METRIC_ARGS, at)
        name = metric.logged_name()
        if name in logged:
            first = logged[name]
            yield pb.error(
                "metric-name-taken",
                (*at, "alias") if metric.alias else at,
                f"metric `{m}` would be logged as `{name}`, "
                + ("like the loss" if first is None else f"like metrics entry {first}")
                + ": Keras would log one of them under another name, or not at all",
                f"give it another `alias:` (e.g. `alias: {name}_{i}`)",
            )
        logged[name] = i
        need = kn.METRIC_LABELS.get(m)
        have = ctx.spec.data.labels
        if need in ("sparse", "one_hot") and need != have and ctx.spec.data.task == "classification":
            yield pb.error(
                "metric-label-mismatch",
                at,
                f"metric `{m}` expects {need} labels but data.labels is {have}",
                "use `accuracy`, which adapts to the labels",
            )


def _optimizer(ctx: Ctx) -> Iterator[Problem]:
    opt = ctx.spec.model.compile.optimizer
    at = (*COMPILE, "optimizer")
    names = ctx.possible(opt.name) if isinstance(opt.name, HpRef) else [opt.name]
    names = [n for n in names or [] if isinstance(n, str) and n in kn.OPTIMIZER_ARGS]
    if not names:
        return
    for arg, value in opt:
        if value is None or arg in kn.COMMON_OPTIMIZER_ARGS or arg == "name":
            continue
        takers = [n for n in names if arg in kn.OPTIMIZER_ARGS[n]]
        if not takers:
            which = [n for n, args in kn.OPTIMIZER_ARGS.items() if arg in args]
            yield pb.error(
                "optimizer-arg-unused",
                (*at, arg),
                f"`{arg}` is not an argument of {' / '.join(names)}",
                f"remove it, or use an optimizer that takes it ({', '.join(which)})",
            )


@dataclass(frozen=True)
class _Output:
    """The layer that decides the model's output width, and the activation applied last."""

    path: KeyPath
    layer: object
    activation: object
    activation_path: KeyPath
    #: Types of the shape-keeping layers after it (Dropout, Activation, normalisation).
    after: tuple[str, ...]


def _output_layer(layers: Sequence[object]) -> _Output:
    flat = [(path, layer) for path, layer in iter_layers(layers) if not isinstance(layer, Repeat)]
    after: list[str] = []
    act: tuple[object, KeyPath] | None = None  # the last Activation layer, if one follows
    for path, layer in reversed(flat):
        kind = REGISTRY.get(getattr(layer, "type", ""))
        if kind is None or kind.shape is not same_shape:
            act = act or (getattr(layer, "activation", None), (*path, "activation"))
            return _Output(path, layer, act[0], act[1], tuple(reversed(after)))
        after.append(kind.type)
        if act is None and isinstance(layer, Activation_):
            act = (layer.activation, (*path, "activation"))
    path, layer = flat[0]
    act = act or (None, (*path, "activation"))
    return _Output(path, layer, act[0], act[1], tuple(reversed(after)))


def _output(ctx: Ctx) -> Iterator[Problem]:
    """The output layer against the labels: rank, units and activation. Layers that keep their
    input's shape (Dropout, Activation, normalisation) may follow it; the output is the layer
    before them, and an Activation among them is the final activation."""
    trace = ctx.feasibility.reference_trace if ctx.input_shape is not None else None
    spec = ctx.spec
    if trace is not None and trace.failure is None and trace.steps:
        out = trace.output
        last_path = trace.steps[-1][0].path
        if len(out) != 1:
            yield pb.error(
                "output-rank",
                last_path,
                f"the model outputs {format_shape(out)} per sample, but each label is one "
                f"{'value' if spec.data.labels == 'sparse' else 'row'}",
                "add Flatten (or GlobalAveragePooling2D) before the final Dense layer",
            )
            return
    output = _output_layer(spec.model.layers)
    head, act = output.layer, output.activation
    if not isinstance(head, Dense) or spec.data.task != "classification":
        return
    classes = ctx.data.num_classes
    units = ctx.possible(head.units) or []
    loss = spec.model.compile.loss
    kind = kn.LOSSES.get(loss.name)
    if classes is not None and units:
        binary = kind == "binary" or (kind == "overlap" and spec.data.labels == "sparse")
        want = 1 if binary else classes
        wrong = [u for u in units if u != want]
        if wrong:
            final = "sigmoid" if binary else "softmax"
            hidden = act not in ("softmax", "sigmoid") and want not in units
            yield pb.error(
                "output-units-mismatch",
                (*output.path, "units"),
                (
                    f"the output layer is a Dense of {wrong[0]} units, but {loss.name} needs 1"
                    if binary
                    else f"the output layer is a Dense of {wrong[0]} units but the data has {classes} classes"
                )
                + (
                    f" (the layers after it keep its width: {', '.join(output.after)})"
                    if output.after
                    else ""
                ),
                f"add an output layer `{{type: Dense, units: {want}, activation: {final}}}` at the end"
                if hidden
                else f"set units: {want} on that layer"
                + (" (binary losses use one sigmoid unit)" if binary else ""),
            )
    logits = loss.from_logits or False
    if isinstance(act, HpRef) or isinstance(logits, HpRef):
        return
    where = output.activation_path
    if kind in ("sparse", "one_hot") and loss.name in kn.LOGIT_LOSSES:
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
                "the last layer has no softmax, so its outputs are logits, but the loss expects "
                "probabilities",
                "add `activation: softmax` to the last layer, or set loss.from_logits: true",
            )
        elif act == "sigmoid" and kind in ("sparse", "one_hot"):
            yield pb.warning(
                "logits-mismatch",
                where,
                "a sigmoid output with a categorical loss does not give class probabilities",
                "use `activation: softmax` on the last layer",
            )
