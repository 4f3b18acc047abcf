"""Check 6: the model against the data: input and output shapes, loss, metrics, optimizer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ktrun import problems as pb
from ktrun.checks.common import unknown_name
from ktrun.checks.context import Ctx
from ktrun.layers.dense import Dense
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
    elif kind == "binary" and classes is not None and classes > 2:
        yield pb.error(
            "loss-label-mismatch",
            at,
            f"`{loss.name}` is for two classes but the data has {classes}",
            f"use sparse_categorical_crossentropy with a softmax output of {classes} units",
        )


def _metrics(ctx: Ctx) -> Iterator[Problem]:
    metrics = ctx.spec.model.compile.metrics
    for i, m in enumerate(metrics):
        at = (*COMPILE, "metrics", i)
        if m not in kn.METRICS:
            yield unknown_name("unknown-metric", at, "metric", m, list(kn.METRICS), "metrics")
            continue
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


def _output(ctx: Ctx) -> Iterator[Problem]:
    """Final layer against the labels: rank, units and activation."""
    trace = ctx.feasibility.reference_trace if ctx.input_shape is not None else None
    spec = ctx.spec
    last = _last_layer(spec.model.layers)
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
    if not isinstance(last, Dense) or spec.data.task != "classification":
        return
    classes = ctx.data.num_classes
    units = ctx.possible(last.units) or []
    loss = spec.model.compile.loss
    kind = kn.LOSSES.get(loss.name)
    at = ("model", "layers", len(spec.model.layers) - 1)
    if classes is not None and units:
        want = 1 if kind == "binary" else classes
        wrong = [u for u in units if u != want]
        if wrong:
            yield pb.error(
                "output-units-mismatch",
                (*at, "units"),
                f"the final Dense layer has {wrong[0]} units, but {loss.name} needs 1"
                if kind == "binary"
                else f"the final Dense layer has {wrong[0]} units but the data has {classes} classes",
                f"set units: {want} on the last layer"
                + ("" if kind != "binary" else " (binary losses use one sigmoid unit)"),
            )
    act = last.activation if not isinstance(last.activation, HpRef) else None
    if kind in ("sparse", "one_hot") and loss.name in kn.LOGIT_LOSSES:
        if loss.from_logits and act in ("softmax", "sigmoid"):
            yield pb.warning(
                "logits-mismatch",
                (*at, "activation"),
                f"the last layer applies {act}, but the loss says from_logits: true",
                "drop the final activation, or set loss.from_logits: false",
            )
        elif not loss.from_logits and act in (None, "linear"):
            yield pb.warning(
                "logits-mismatch",
                (*at, "activation"),
                "the last layer has no softmax, so its outputs are logits, but the loss expects "
                "probabilities",
                "add `activation: softmax` to the last layer, or set loss.from_logits: true",
            )
        elif act == "sigmoid" and kind in ("sparse", "one_hot"):
            yield pb.warning(
                "logits-mismatch",
                (*at, "activation"),
                "a sigmoid output with a categorical loss does not give class probabilities",
                "use `activation: softmax` on the last layer",
            )


def _last_layer(layers: Sequence[object]) -> object:
    last = layers[-1]
    inner = getattr(last, "layers", None)
    return _last_layer(inner) if isinstance(inner, list) else last
