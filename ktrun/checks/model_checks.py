"""Checks 6–8: data against model, loss and metrics; the objective; the tuner and policies."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from pathlib import Path

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.layers import iter_layers
from ktrun.layers.custom import Custom
from ktrun.layers.dense import Dense
from ktrun.layers.shape_math import format_shape
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn
from ktrun.spec.refs import HpRef

COMPILE = ("model", "compile")


# ---------------------------------------------------------------- 6. data and model


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
        close = difflib.get_close_matches(loss.name, list(kn.LOSSES), n=1)
        yield pb.error(
            "unknown-loss",
            at,
            f"loss `{loss.name}` is not one ktrun knows",
            (f"did you mean `{close[0]}`? " if close else "") + f"known losses: {', '.join(kn.LOSSES)}",
        )
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
            close = difflib.get_close_matches(m, list(kn.METRICS), n=1)
            yield pb.error(
                "unknown-metric",
                at,
                f"metric `{m}` is not one ktrun knows",
                (f"did you mean `{close[0]}`? " if close else "") + f"known metrics: {', '.join(kn.METRICS)}",
            )
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


# ---------------------------------------------------------------- 7. objective and monitors


def check_objective(ctx: Ctx) -> Iterator[Problem]:
    obj = ctx.spec.objective
    logged = ctx.logged
    at = ("objective", "name")
    if obj.name not in logged:
        yield _not_logged(ctx, obj.name, at, "objective-not-logged", "the objective")
    else:
        inferred = logged[obj.name]
        if obj.direction is not None and obj.direction != inferred:
            yield pb.error(
                "objective-direction-contradiction",
                ("objective", "direction"),
                f"objective `{obj.name}` is better when {'higher' if inferred == 'max' else 'lower'},"
                f" but direction is {obj.direction}: the search would keep the worst models",
                f"set objective.direction: {inferred}, or remove it (it is inferred)",
            )
        if ctx.has_validation and not obj.name.startswith("val_"):
            yield pb.warning(
                "objective-on-training-data",
                at,
                f"objective `{obj.name}` is measured on the training data, which rewards overfitting",
                f"use `val_{obj.name}`",
            )
    es = ctx.spec.fit.early_stopping
    if es is not None:
        yield from _monitor(ctx, es.monitor, ("fit", "early_stopping", "monitor"), "early stopping")
        direction = logged.get(es.monitor)
        if es.mode != "auto" and direction is not None and es.mode != direction:
            yield pb.error(
                "monitor-mode-contradiction",
                ("fit", "early_stopping", "mode"),
                f"early stopping watches `{es.monitor}` with mode {es.mode}, but it improves "
                f"when {'higher' if direction == 'max' else 'lower'}",
                f"set mode: {direction} (or auto)",
            )
    rl = ctx.spec.fit.reduce_lr_on_plateau
    if rl is not None:
        yield from _monitor(
            ctx, rl.monitor, ("fit", "reduce_lr_on_plateau", "monitor"), "reduce_lr_on_plateau"
        )


def _monitor(ctx: Ctx, name: str, at: tuple[str, ...], what: str) -> Iterator[Problem]:
    if name not in ctx.logged:
        yield _not_logged(ctx, name, at, "monitor-not-logged", what)
    elif name != ctx.spec.objective.name and what == "early stopping":
        yield pb.warning(
            "monitor-differs",
            at,
            f"early stopping watches `{name}` but the search ranks trials by `{ctx.spec.objective.name}`",
            f"monitor `{ctx.spec.objective.name}` so each trial stops where its score is best",
        )


def _not_logged(ctx: Ctx, name: str, at: tuple[str, ...], code: str, what: str) -> Problem:
    logged = sorted(ctx.logged)
    if name.startswith("val_") and name[4:] in ctx.logged and not ctx.has_validation:
        return pb.error(
            "objective-needs-validation" if code == "objective-not-logged" else code,
            at,
            f"{what} `{name}` needs validation data, but data.validation_split is 0",
            f"set data.validation_split (e.g. 0.2), or use `{name[4:]}`",
        )
    base = name.removeprefix("val_")
    close = difflib.get_close_matches(name, logged, n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    if base in kn.METRICS and base not in ctx.spec.model.compile.metrics:
        hint += f"add `{base}` to model.compile.metrics, or "
    return pb.error(
        code,
        at,
        f"{what} `{name}` is not a metric this model logs",
        hint + f"pick one of: {', '.join(logged)}",
    )


# ---------------------------------------------------------------- 8. tuner and failure policy


def check_tuner(ctx: Ctx) -> Iterator[Problem]:
    t, space, feas = ctx.spec.tuner, ctx.space, ctx.feasibility
    if t.algorithm == "grid":
        continuous = [p.name for p in space.params.values() if p.cardinality is None]
        if continuous:
            yield pb.error(
                "grid-infinite-space",
                ("hyperparameters", continuous[0]),
                f"grid search needs a finite space, but {', '.join(continuous)} "
                f"{'is' if len(continuous) == 1 else 'are'} continuous",
                "give each float a `step`, or use a choice of values",
            )
    if t.algorithm == "hyperband":
        if isinstance(ctx.spec.fit.epochs, HpRef):
            yield pb.error(
                "hyperband-epochs-tunable",
                ("fit", "epochs"),
                "Hyperband decides each trial's epochs itself; fit.epochs cannot be tuned",
                "set fit.epochs to a number and tune tuner.hyperband.max_epochs instead",
            )
        if t.hyperband.max_epochs < t.hyperband.factor:
            yield pb.warning(
                "hyperband-single-bracket",
                ("tuner", "hyperband", "max_epochs"),
                f"max_epochs {t.hyperband.max_epochs} < factor {t.hyperband.factor}: Hyperband "
                "degenerates into random search with full training",
                f"raise max_epochs to at least {t.hyperband.factor**2}, or use random search",
            )
    if t.algorithm == "bayesian":
        nip = t.bayesian.num_initial_points
        if nip is not None and nip >= t.max_trials:
            yield pb.warning(
                "bayesian-all-random",
                ("tuner", "bayesian", "num_initial_points"),
                f"num_initial_points {nip} >= max_trials {t.max_trials}: every trial is random",
                "lower num_initial_points or raise max_trials",
            )
    points = feas.feasible_points
    if (
        space.analysable
        and all(p.cardinality is not None for p in space.params.values())
        and feas.exact
        and (t.algorithm != "hyperband" and 0 < points < t.max_trials)
    ):
        yield pb.warning(
            "max-trials-exceeds-space",
            ("tuner", "max_trials"),
            f"max_trials is {t.max_trials} but the space has only {points:.0f} feasible points; "
            "the search ends when they are exhausted",
            f"lower max_trials to {points:.0f}, or widen the space",
        )
    yield from _policy(ctx)


def _policy(ctx: Ctx) -> Iterator[Problem]:
    fp = ctx.spec.failure_policy
    retrying = [k for k in ("build_error", "nan", "oom", "timeout", "other") if getattr(fp, k) == "retry"]
    if retrying and fp.max_retries == 0:
        yield pb.warning(
            "retry-without-retries",
            ("failure_policy", "max_retries"),
            f"{', '.join(retrying)} say retry, but max_retries is 0",
            "set failure_policy.max_retries >= 1, or use skip",
        )
    if fp.build_error == "retry":
        yield pb.warning(
            "retry-deterministic",
            ("failure_policy", "build_error"),
            "a build error repeats for the same hyperparameters, so retrying only wastes time",
            "use skip (or abort)",
        )


# ---------------------------------------------------------------- custom objects (the opt-in)


def check_custom(ctx: Ctx) -> Iterator[Problem]:
    """Declared, findable, never imported: the check runs no user code (and no TensorFlow)."""
    opt_in = ctx.spec.custom_objects
    for path, layer in iter_layers(ctx.spec.model.layers):
        if isinstance(layer, Custom) and layer.layer not in opt_in.layers:
            close = difflib.get_close_matches(layer.layer, list(opt_in.layers), n=1)
            yield pb.error(
                "custom-layer-undeclared",
                (*path, "layer"),
                f"custom layer `{layer.layer}` is not declared under custom_objects.layers",
                (f"did you mean `{close[0]}`? " if close else "")
                + "declare the class it stands for, e.g. "
                + f"`custom_objects: {{layers: {{{layer.layer}: my_package.layers:{layer.layer}}}}}`",
            )
    for name, target in opt_in.layers.items():
        top = target.split(":")[0].split(".")[0]
        if not _findable(top, opt_in.search_dirs()):
            yield pb.error(
                "custom-module-not-found",
                ("custom_objects", "layers", name),
                f"`{target}`: no module `{top}` among the installed packages or in "
                f"custom_objects.paths {opt_in.paths} (from {Path.cwd()})",
                "install the package, or list its directory under custom_objects.paths "
                "(relative to the directory you run ktrun in)",
            )


def _findable(top: str, dirs: list[str]) -> bool:
    """Located without being imported: finding a top-level module runs none of its code."""
    import importlib.machinery
    import importlib.util

    return (
        importlib.machinery.PathFinder.find_spec(top, dirs) is not None
        or importlib.util.find_spec(top) is not None
    )
