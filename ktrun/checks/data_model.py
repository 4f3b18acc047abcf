"""Check 6: the model against the data: input and output shapes, loss, metrics, optimizer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from ktrun import problems as pb
from ktrun.checks.common import unknown_name
from ktrun.checks.context import Ctx
from ktrun.checks.outputs import check_output
from ktrun.config.provenance import KeyPath
from ktrun.data.folds import fold_problems, stratifies
from ktrun.data.sources import SOURCES
from ktrun.data.splits import split_sizes
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn
from ktrun.spec.experiment import DataSpec, ScheduleSpec
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
    elif spec.fit.class_weight is not None and (spec.data.per_step or spec.data.labels == "multi_hot"):
        which = "one per time step (data.per_step)" if spec.data.per_step else "multi-hot rows"
        yield pb.error(
            "class-weight-labels",
            ("fit", "class_weight"),
            f"Keras weights a sample by its one class, but the labels are {which}",
            "remove fit.class_weight (a weighted loss is a custom loss), or give one label per sample",
        )
    yield from _data_options(ctx)
    yield from _cross_validation(ctx)
    yield from _final(ctx)
    if spec.model.hypermodel is not None:
        return  # it compiles itself and makes its own output layer (checks.hypermodels)
    yield from _loss_and_labels(ctx)
    yield from _metrics(ctx)
    yield from _optimizer(ctx)
    yield from _schedule(ctx)
    yield from check_output(ctx)


def _data_options(ctx: Ctx) -> Iterator[Problem]:
    """Label settings that only classification reads: set for another task, they would be ignored."""
    data = ctx.spec.data
    if data.task == "classification":
        return
    if data.labels == "multi_hot":
        yield pb.error(
            "data-option-conflict",
            ("data", "labels"),
            f"data.labels: multi_hot describes class labels, but data.task is {data.task}",
            "set data.task: classification for multi-label data (or remove data.labels)",
        )
    if data.per_step:
        yield pb.error(
            "data-option-conflict",
            ("data", "per_step"),
            f"data.per_step describes one class per time step, but data.task is {data.task}",
            "remove data.per_step: regression targets of any shape, (n, T) included, are matched to the "
            "output as they are"
            if data.task == "regression"
            else "remove data.per_step (the target is the input), or set data.task: classification",
        )


def _final(ctx: Ctx) -> Iterator[Problem]:
    """`final.retrain` scores on a test split, so there must be one."""
    if not ctx.spec.final.retrain or ctx.data.test:
        return
    if any(p.path[:2] == ("data", "test_path") for p in ctx.data.problems):
        return  # the test split's own problem says what is wrong
    if ctx.spec.data.source == "custom":  # check never calls your loader: the run holds it to this
        yield pb.warning(
            "final-no-test-split",
            ("final", "retrain"),
            "final.retrain scores the best configuration on a test split: your loader must return "
            "{'train': ..., 'validation': ..., 'test': ...} tf.data datasets (check does not run it)",
            "return a 'test' dataset, or hold rows out with data.test_split (e.g. 0.1)",
        )
        return
    yield pb.error(
        "final-no-test-split",
        ("final", "retrain"),
        f"final.retrain scores the best configuration on a test split, but data.source "
        f"{ctx.spec.data.source} has none",
        "hold rows out with data.test_split (e.g. 0.1), give a test file with data.test_path (npz, csv), "
        "or use data.source mnist, fashion_mnist or cifar10, whose own x_test/y_test are the test split",
    )


def _cross_validation(ctx: Ctx) -> Iterator[Problem]:
    """Folds the data can make; a validation split the folds replace."""
    folds, data = ctx.spec.fit.folds, ctx.spec.data
    if folds is None:
        return
    source = SOURCES.get(data.source)
    if source is not None and source.streamed:
        yield pb.error(
            "cross-validation-streamed",
            ("fit", "cross_validation", "folds"),
            f"fit.cross_validation trains every fold on rows held in memory, but data.source "
            f"{data.source} is streamed (read a batch at a time, never held)",
            "remove fit.cross_validation (each trial validates on data.validation_split), or use "
            "data.source: npz for data that fits in memory",
        )
        return
    stratified = stratifies(data)
    rows = ctx.data.rows
    if rows is not None:  # the folds split what data.limit and the test split leave
        used = min(rows, data.limit) if data.limit is not None else rows
        rows = used - split_sizes(used, data)[0]
    yield from fold_problems(folds, rows, ctx.data.class_rows if stratified else None, stratified)
    if data.validation_split not in (0.0, DataSpec.model_fields["validation_split"].default):
        yield pb.warning(
            "cross-validation-split",
            ("data", "validation_split"),
            f"data.validation_split={data.validation_split} is not used: with fit.cross_validation each of "
            f"the {folds} folds validates on the 1/{folds} of the rows it holds out",
            "remove data.validation_split (or set it to 0), or remove fit.cross_validation to keep one split",
        )


def _loss_and_labels(ctx: Ctx) -> Iterator[Problem]:
    spec, loss = ctx.spec, ctx.spec.model.compile.loss
    at = (*COMPILE, "loss")
    custom = spec.custom_objects.losses
    if loss.name in custom:
        return  # your own: its labels and arguments are its business
    kind = kn.LOSSES.get(loss.name)
    if kind is None:
        known = [*kn.LOSSES, *custom]
        yield unknown_name("unknown-loss", at, "loss", loss.name, known, "losses", "losses")
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
    if spec.data.task == "reconstruction":
        yield from _reconstruction_loss(ctx, kind)
        return
    if spec.data.labels == "multi_hot":
        if kind in ("sparse", "one_hot"):
            yield pb.error(
                "loss-label-mismatch",
                at,
                f"`{loss.name}` takes exactly one class per sample, but data.labels is multi_hot "
                "(several labels per sample)",
                "use loss binary_crossentropy, with one sigmoid unit per label",
            )
        elif kind == "regression":
            yield pb.warning(
                "loss-label-mismatch",
                at,
                f"`{loss.name}` is a regression loss but the labels are multi-hot rows",
                "use binary_crossentropy, with one sigmoid unit per label",
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


def _reconstruction_loss(ctx: Ctx, kind: str) -> Iterator[Problem]:
    """Autoencoders train against the input: a regression loss, or binary cross-entropy on
    inputs scaled to [0, 1] (keras-io's convolutional autoencoder)."""
    loss, at = ctx.spec.model.compile.loss, (*COMPILE, "loss")
    if kind in ("sparse", "one_hot"):
        yield pb.error(
            "loss-label-mismatch",
            at,
            f"`{loss.name}` needs class labels, but data.task is reconstruction: the target is the input",
            "use mse (or binary_crossentropy for inputs scaled to [0, 1] by data.normalize: scale)",
        )
    elif kind == "binary" and ctx.spec.data.normalize == "standardize":
        yield pb.warning(
            "loss-label-mismatch",
            at,
            f"`{loss.name}` needs targets in [0, 1], but data.normalize: standardize centres the input "
            "(the target) on 0",
            "use data.normalize: scale (non-negative inputs end in [0, 1]), or a regression loss such as mse",
        )


#: Metrics that count correct classes; on real-valued targets they measure nothing useful.
_CLASS_METRICS = frozenset(
    {
        "accuracy",
        "sparse_categorical_accuracy",
        "categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
    }
)


def _metrics(ctx: Ctx) -> Iterator[Problem]:
    metrics = ctx.spec.model.compile.metrics
    custom = ctx.spec.custom_objects.metrics
    logged: dict[str, int | None] = {"loss": None}  # logged name → the entry that logs it
    for i, metric in enumerate(metrics):
        m = metric.name
        at = (*COMPILE, "metrics", i)
        if m not in kn.METRICS and m not in custom:
            known = [*kn.METRICS, *custom]
            yield unknown_name("unknown-metric", at, "metric", m, known, "metrics", "metrics")
            continue
        if m not in custom:  # your own: its arguments are its business
            given = metric.arguments()
            yield from _unused_arguments("metric-arg-unused", "metric", m, given, kn.METRIC_ARGS, at)
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
        have, task = ctx.spec.data.labels, ctx.spec.data.task
        if task != "classification" and m in _CLASS_METRICS:
            yield pb.warning(
                "metric-label-mismatch",
                at,
                f"metric `{m}` counts correct classes, but data.task is {task}: the targets are real values",
                "use mae, mse or root_mean_squared_error",
            )
        elif need in ("sparse", "one_hot") and need != have and task == "classification":
            yield pb.error(
                "metric-label-mismatch",
                at,
                f"metric `{m}` expects {need} labels but data.labels is {have}",
                "use `accuracy` (binary accuracy per label for multi-hot rows), `binary_accuracy`, "
                "`auc`, `precision` or `recall`"
                if have == "multi_hot"
                else "use `accuracy`, which adapts to the labels",
            )


def _optimizer(ctx: Ctx) -> Iterator[Problem]:
    """Each argument set is one the chosen optimizer takes (for `name: $opt`, one of those it can
    choose); each `per_optimizer` key is an optimizer `name:` can choose, with its own arguments."""
    opt = ctx.spec.model.compile.optimizer
    at = (*COMPILE, "optimizer")
    possible = ctx.possible(opt.name) if isinstance(opt.name, HpRef) else [opt.name]
    names = [n for n in possible or [] if isinstance(n, str) and n in kn.OPTIMIZER_ARGS]
    yield from _per_optimizer(ctx, names or None)
    if not names:
        return
    for arg in opt.arguments():
        if arg in kn.COMMON_OPTIMIZER_ARGS:
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


def _per_optimizer(ctx: Ctx, names: list[str] | None) -> Iterator[Problem]:
    """`per_optimizer: {rmsprop: {...}}`: a known optimizer that `name:` can choose (`names`; None:
    unknown), and arguments it takes."""
    opt = ctx.spec.model.compile.optimizer
    at = (*COMPILE, "optimizer", "per_optimizer")
    for which, args in opt.per_optimizer.items():
        if which not in kn.OPTIMIZER_ARGS:
            known = list(kn.OPTIMIZERS)
            yield unknown_name("unknown-optimizer", (*at, which), "optimizer", which, known, "optimizers")
            continue
        if names is not None and which not in names:
            if isinstance(opt.name, HpRef):
                never = f"`${opt.name.name}` never chooses {which} (it takes {' / '.join(names)})"
                fix = f"add {which} to the values of `{opt.name.name}`"
            else:
                never = f"the optimizer is {opt.name}, never {which}"
                fix = f"set name: {which}"
            yield pb.warning(
                "per-optimizer-never-chosen",
                (*at, which),
                f"{never}, so these arguments are never used",
                f"remove per_optimizer.{which}, or {fix}",
            )
        for arg in args.arguments():
            if arg not in kn.COMMON_OPTIMIZER_ARGS and arg not in kn.OPTIMIZER_ARGS[which]:
                takes = sorted(kn.OPTIMIZER_ARGS[which] | kn.COMMON_OPTIMIZER_ARGS)
                which_take = [n for n, a in kn.OPTIMIZER_ARGS.items() if arg in a]
                yield pb.error(
                    "optimizer-arg-unused",
                    (*at, which, arg),
                    f"`{arg}` is not an argument of {which}",
                    f"remove it (`{which}` takes {', '.join(takes)}), or move it under an optimizer "
                    f"that takes it ({', '.join(which_take)})",
                )


def _schedule(ctx: Ctx) -> Iterator[Problem]:
    """A learning-rate schedule: under every schedule `schedule:` can name, each argument set is
    one it takes (for some of them) and each one it cannot do without is set; no plateau callback,
    which would try to set the scheduled rate and fail."""
    sched = ctx.spec.model.compile.optimizer.learning_rate
    if not isinstance(sched, ScheduleSpec):
        return
    at = (*COMPILE, "optimizer", "learning_rate")
    if ctx.spec.fit.reduce_lr_on_plateau is not None:
        yield pb.error(
            "schedule-with-plateau",
            ("fit", "reduce_lr_on_plateau"),
            "fit.reduce_lr_on_plateau changes the learning rate, but model.compile.optimizer."
            "learning_rate is a schedule: Keras cannot set a scheduled rate, and the first plateau "
            "would fail the trial",
            "remove fit.reduce_lr_on_plateau, or give learning_rate a number (or `$name`)",
        )
    possible = ctx.possible(sched.schedule) or []
    names = [n for n in possible if isinstance(n, str) and n in kn.SCHEDULE_ARGS]
    if not names:
        return  # an unknown name is reported with the argument checks
    given = sched.arguments()
    chosen = " / ".join(names)
    for arg in given:
        if not any(arg in kn.SCHEDULE_ARGS[n] for n in names):
            which = [n for n, args in kn.SCHEDULE_ARGS.items() if arg in args]
            yield pb.error(
                "schedule-arg-unused",
                (*at, arg),
                f"`{arg}` is not an argument of the schedule {chosen}",
                f"remove `{arg}`, or use a schedule that takes it ({', '.join(which)})",
            )
    for name in names:
        missing = sorted(kn.SCHEDULE_REQUIRED[name] - set(given))
        if missing:
            yield pb.error(
                "schedule-arg-missing",
                at,
                f"the schedule `{name}` needs {', '.join(missing)}, which Keras has no default for",
                f"set learning_rate.{missing[0]}"
                + (
                    f", or let `{sched.schedule}` not take `{name}`"
                    if isinstance(sched.schedule, HpRef)
                    else ""
                ),
            )
    if "piecewise_constant_decay" in names and sched.boundaries and sched.values:
        yield from _piecewise(sched.boundaries, sched.values, at)


def _piecewise(boundaries: Sequence[object], values: Sequence[object], at: KeyPath) -> Iterator[Problem]:
    """Keras refuses `values` that are not one longer than `boundaries`; boundaries out of order
    leave a piece that is never used."""
    if len(values) != len(boundaries) + 1:
        yield pb.error(
            "schedule-piecewise-mismatch",
            (*at, "values"),
            f"piecewise_constant_decay has {len(boundaries)} boundaries, so it needs "
            f"{len(boundaries) + 1} values (one before, between and after them), not {len(values)}",
            "give one more value than boundaries",
        )
    steps = [b for b in boundaries if isinstance(b, int)]
    if len(steps) == len(boundaries) and any(a >= b for a, b in itertools.pairwise(steps)):
        yield pb.error(
            "schedule-piecewise-mismatch",
            (*at, "boundaries"),
            f"piecewise_constant_decay's boundaries {steps} are not increasing: a piece between "
            "them would never apply",
            "list the steps in increasing order, each once",
        )
