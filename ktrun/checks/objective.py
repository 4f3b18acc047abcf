"""Check 7: the objective and the monitors: logged, with validation data, in the right direction."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.config.provenance import KeyPath
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn
from ktrun.spec.experiment import STATIC_OBJECTIVES, BestLimits, ObjectiveSpec


def check_objective(ctx: Ctx) -> Iterator[Problem]:
    listed = bool(ctx.spec.objectives)
    seen: set[str] = set()
    for i, obj in enumerate(ctx.spec.all_objectives):
        where: KeyPath = (ctx.spec.objectives_key, i) if listed else ("objective",)
        if obj.name in seen:
            yield pb.error(
                "objective-duplicate",
                (*where, "name"),
                f"objective `{obj.name}` is listed twice",
                "list each objective once",
            )
            continue
        seen.add(obj.name)
        if obj.name in STATIC_OBJECTIVES:
            yield from _static(ctx, obj, where, i)
        else:
            yield from _metric(ctx, obj, where)
    yield from _best(ctx)
    yield from _monitors(ctx)


def _static(ctx: Ctx, obj: ObjectiveSpec, where: KeyPath, i: int) -> Iterator[Problem]:
    """`params` and `flops`: counted from shapes, smaller is better, never what Keras Tuner ranks."""
    what = "weights" if obj.name == "params" else "forward-pass FLOPs"
    if i == 0:
        yield pb.error(
            "objective-static-first",
            (*where, "name"),
            f"the first objective is what Keras Tuner optimises from what trials log, but `{obj.name}` "
            f"is ktrun's count of each model's {what}, which no trial logs",
            f"put a metric first, e.g. `objective: [{{name: val_accuracy}}, {{name: {obj.name}}}]`",
        )
    if obj.direction == "max":
        yield pb.error(
            "objective-direction-contradiction",
            (*where, "direction"),
            f"objective `{obj.name}` counts each model's {what}, where fewer is better, but direction "
            "is max: the front would favour the largest models",
            "set direction: min, or remove it (it is inferred)",
        )
    if ctx.spec.model.hypermodel is not None:
        yield pb.error(
            "objective-size-uncountable",
            (*where, "name"),
            f"objective `{obj.name}` is counted from model.layers' shapes, but a HyperModel builds "
            "its own layers, which ktrun does not see",
            f"remove `{obj.name}` from the objectives, or write the model as model.layers",
        )
        return
    found = ctx.size
    count = None if found is None else found.largest if obj.name == "params" else found.most_flops
    if count is not None and not count.exact:
        yield pb.error(
            "objective-size-uncountable",
            (*where, "name"),
            f"objective `{obj.name}` is counted from each layer's shapes, but ktrun cannot count the "
            f"{what} of the {' and '.join(count.uncounted)} in model.layers",
            f"remove `{obj.name}` from the objectives (a Backbone's and your own layers' {what} "
            "are not known statically)",
        )


def _best(ctx: Ctx) -> Iterator[Problem]:
    """`objective_best` limits name objectives of this search."""
    best = ctx.spec.objective_best
    if not isinstance(best, BestLimits):
        return
    names = [o.name for o in ctx.spec.all_objectives]
    for side in ("max", "min"):
        for name in getattr(best, side):
            if name not in names:
                yield pb.error(
                    "objective-best-unknown",
                    ("objective_best", side, name),
                    f"objective_best limits `{name}`, which is not one of the objectives",
                    f"limit one of: {', '.join(names)}; or add `{name}` to the objective list",
                )


def _metric(ctx: Ctx, obj: ObjectiveSpec, where: KeyPath) -> Iterator[Problem]:
    logged = ctx.logged
    at = (*where, "name")
    if obj.name not in logged:
        yield _not_logged(ctx, obj.name, at, "objective-not-logged", "the objective")
    else:
        inferred = logged[obj.name]
        if inferred is None and obj.direction is None:
            yield pb.error(
                "objective-direction-unknown",
                at,  # where you wrote it: the direction goes next to it
                f"objective `{obj.name}` is a metric of your own, so ktrun cannot tell whether "
                "higher or lower is better",
                "set objective.direction: max (higher is better) or min",
            )
        elif obj.direction is not None and inferred is not None and obj.direction != inferred:
            yield pb.error(
                "objective-direction-contradiction",
                (*where, "direction"),
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


def _monitors(ctx: Ctx) -> Iterator[Problem]:
    logged = ctx.logged
    es = ctx.spec.fit.early_stopping
    if es is not None:
        yield from _monitor(ctx, es.monitor, ("fit", "early_stopping", "monitor"), "early stopping")
        direction = logged.get(es.monitor)
        if es.mode == "auto" and es.monitor in logged and direction is None:
            yield pb.error(
                "monitor-mode-unknown",
                ("fit", "early_stopping", "mode"),
                f"early stopping watches `{es.monitor}`, a metric of your own, with mode auto: "
                "Keras would guess its direction from the name",
                "set fit.early_stopping.mode: max (higher is better) or min",
            )
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


def _monitor(ctx: Ctx, name: str, at: KeyPath, what: str) -> Iterator[Problem]:
    if name not in ctx.logged:
        yield _not_logged(ctx, name, at, "monitor-not-logged", what)
    elif name != ctx.spec.objective.name and what == "early stopping":
        yield pb.warning(
            "monitor-differs",
            at,
            f"early stopping watches `{name}` but the search ranks trials by `{ctx.spec.objective.name}`",
            f"monitor `{ctx.spec.objective.name}` so each trial stops where its score is best",
        )


def _not_logged(ctx: Ctx, name: str, at: KeyPath, code: str, what: str) -> Problem:
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
    if base in kn.METRICS and base not in [m.name for m in ctx.spec.model.compile.metrics]:
        hint += f"add `{base}` to model.compile.metrics, or "
    static = ", or (after the first) params or flops" if code == "objective-not-logged" else ""
    return pb.error(
        code,
        at,
        f"{what} `{name}` is not a metric this model logs",
        hint + f"pick one of: {', '.join(logged)}{static}",
    )
