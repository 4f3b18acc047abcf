"""Check 7: the objective and the monitors: logged, with validation data, in the right direction."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn


def check_objective(ctx: Ctx) -> Iterator[Problem]:
    obj = ctx.spec.objective
    logged = ctx.logged
    at = ("objective", "name")
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
    if base in kn.METRICS and base not in [m.name for m in ctx.spec.model.compile.metrics]:
        hint += f"add `{base}` to model.compile.metrics, or "
    return pb.error(
        code,
        at,
        f"{what} `{name}` is not a metric this model logs",
        hint + f"pick one of: {', '.join(logged)}",
    )
