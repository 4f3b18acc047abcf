"""Check 2: every value a layer, optimizer or fit argument can receive fits what it accepts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ktrun import problems as pb
from ktrun.analysis.expressions import EvalError, ExprError, parse
from ktrun.analysis.values import literal_range, values
from ktrun.checks.common import HP
from ktrun.checks.context import Ctx
from ktrun.config.trust import clip
from ktrun.layers import REGISTRY, LayerSpec, Repeat, iter_layers
from ktrun.layers import repeat as repeat_block
from ktrun.layers.base import Section
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn
from ktrun.spec.domains import (
    ACTIVATION,
    FIT_ARGS,
    LOSS_ARGS,
    METRIC_ARGS,
    OPTIMIZER_ARGS,
    SCHEDULE_ARGS,
    Domain,
)
from ktrun.spec.experiment import ScheduleSpec
from ktrun.spec.hyperparameters import ChoiceHp, FloatHp, IntHp
from ktrun.spec.refs import HpExpr, HpRef


def check_arguments(ctx: Ctx) -> Iterator[Problem]:
    """Every literal and every value a referenced hyperparameter can take fits its argument."""
    for index, layer in enumerate(ctx.spec.model.layers):  # `first`/`last` need a repeat around
        for position in ("first", "last"):
            if not isinstance(layer, Repeat) and getattr(layer, position):
                yield pb.error(
                    "position-outside-repeat",
                    ("model", "layers", index, position),
                    f"`{position}:` changes a layer on the {position} repetition of a repeat "
                    "block, but this layer is not in one",
                    "set the arguments on the layer itself, or move it into a `type: repeat` block",
                )
    yield from _section_arguments(ctx)
    reported: set[tuple[str, str]] = set()
    own = tuple(ctx.spec.custom_objects.activations)
    with_own = replace(ACTIVATION, names=(*kn.ACTIVATIONS, *own))  # yours are names like Keras'
    for path, owner, arg, value, domain in _arguments(ctx):
        dom = with_own if domain is ACTIVATION else domain
        items: list[Any] = value if isinstance(value, list) else [value]
        items = [x for v in items for x in (v if isinstance(v, list) else [v])]  # `[before, after]` pairs
        for v in items:
            if isinstance(v, HpRef):
                yield from _check_ref(ctx, v, dom, owner, arg, path, reported)
            elif isinstance(v, HpExpr):
                yield from _check_expr(ctx, v, dom, owner, arg, path)
            elif not dom.type_ok(v) or not dom.value_ok(v):
                yield pb.error(
                    dom.code,
                    path,
                    f"{owner}.{arg} = {v!r} is not {dom.text}",
                    dom.suggestion(v) + (dom.hint or f"give {dom.text}"),
                )


def _check_expr(
    ctx: Ctx, value: HpExpr, dom: Domain, owner: str, arg: str, path: tuple[str | int, ...]
) -> Iterator[Problem]:
    """An expression argument parses, and its value for each combination of what it reads fits
    the argument: an error when none does, a warning (those points fail to build) when some do not."""
    try:
        parse(value.text)
    except ExprError as e:
        yield pb.error(
            "arg-expression-invalid",
            path,
            f'{owner}.{arg} = "{clip(value.text)}" is not an expression ktrun can read: {e.message}'
            + (f" (column {e.column})" if e.column and e.column > 0 else ""),
            "write a number, `$name`, or arithmetic of hyperparameter names (`28 - image_size`)",
        )
        return
    found = ctx.outcomes(value)
    if not found:
        return  # reads a continuous or unknown name: unknown names are reported as references
    fits = dom.type_ok, dom.value_ok
    bad = [(env, v) for env, v in found if isinstance(v, EvalError) or not all(f(v) for f in fits)]  # type: ignore[arg-type]
    if not bad:
        return
    env, v = bad[0]
    when = " when " + ", ".join(f"{k}={x!r}" for k, x in env.items()) if env else ""
    what = f"fails ({v})" if isinstance(v, EvalError) else f"is {v!r}"
    integer = dom.kind == "int" and isinstance(v, float)
    make = pb.error if len(bad) == len(found) else pb.warning
    yield make(
        "arg-expression-invalid" if isinstance(v, EvalError) else dom.code,
        path,
        f'{owner}.{arg} = "{clip(value.text)}" {what}{when}, but must be {dom.text}'
        + ("" if make is pb.error else f" ({len(bad)} of {len(found)} combinations; those points fail)"),
        "use `//` for a whole number"
        if integer
        else f"keep the expression {dom.text} for every value it reads",
    )


def _check_ref(
    ctx: Ctx,
    ref: HpRef,
    dom: Domain,
    owner: str,
    arg: str,
    path: tuple[str | int, ...],
    reported: set[tuple[str, str]],
) -> Iterator[Problem]:
    decl = ctx.space.declared.get(ref.name, ctx.spec.hyperparameters.get(ref.name))
    if decl is None or (ref.name, arg) in reported:
        return
    found = list(_ref_problems(ref.name, decl, dom, owner, arg, path))
    if found:
        reported.add((ref.name, arg))
    yield from found


def _ref_problems(
    name: str, decl: object, dom: Domain, owner: str, arg: str, path: tuple[str | int, ...]
) -> Iterator[Problem]:
    from ktrun.config.provenance import format_path

    at = (HP, name)
    where = f"{owner}.{arg} at {format_path(path)}"
    if isinstance(decl, IntHp | FloatHp):
        mismatch: tuple[str, str] | None = None
        lo, hi = literal_range(decl)  # a dependent bound at its widest
        if (
            isinstance(decl, FloatHp)
            and dom.kind in ("int", "str", "bool")
            and not (decl.step is not None and float(decl.step).is_integer() and float(lo).is_integer())
        ):
            mismatch = ("a float", "declare it `type: int`" if dom.kind == "int" else "use a choice of names")
        elif dom.kind in ("str", "bool"):
            mismatch = (
                "numeric",
                "use `type: choice` with names" if dom.kind == "str" else "use `type: boolean`",
            )
        if mismatch is not None:
            what, hint = mismatch
            yield pb.error(
                "hp-type-mismatch",
                (*at, "type"),
                f"`{name}` is {what} but feeds {where}, which takes {dom.text}",
                hint,
            )
            return
        if lo > hi:
            return
        bad = [v for v in (lo, hi) if not dom.value_ok(v)]
        if bad:
            key = "min" if bad[0] == lo else "max"
            yield pb.error(
                dom.code,
                (*at, key),
                f"`{name}` can be {bad[0]} ({key}: {bad[0]}), but {where} must be {dom.text}",
                dom.hint or f"narrow the range of `{name}` to {dom.text}",
            )
        return
    vals = values(decl)  # type: ignore[arg-type]
    if not vals:
        return
    wrong_type = [v for v in vals if not dom.type_ok(v)]
    if wrong_type:
        yield pb.error(
            "hp-type-mismatch",
            (*at, "values" if isinstance(decl, ChoiceHp) else "type"),
            f"`{name}` can be {wrong_type[0]!r}, but {where} takes {dom.text}",
            f"keep only {dom.text} values" + (f"; for example {list(dom.names[:4])}" if dom.names else ""),
        )
        return
    bad = [v for v in vals if not dom.value_ok(v)]
    if bad:
        yield pb.error(
            dom.code,
            (*at, "values" if isinstance(decl, ChoiceHp) else "value"),
            f"`{name}` can be {bad[0]!r}, but {where} must be {dom.text}",
            dom.suggestion(bad[0]) + (dom.hint or f"keep only {dom.text} values"),
        )


def _arguments(ctx: Ctx) -> Iterator[tuple[tuple[str | int, ...], str, str, object, Domain]]:
    """(path, owner, argument, value, domain) for every layer, optimizer and fit argument that has
    a domain: a layer's are declared with its type, in `ktrun.layers`."""
    for lpath, layer in iter_layers(ctx.spec.model.layers):
        if isinstance(layer, Repeat):
            yield (*lpath, "times"), "repeat", "times", layer.times, repeat_block.DOMAINS["times"]
            continue
        assert isinstance(layer, LayerSpec)
        domains = REGISTRY[layer.type].domains
        given = [((*lpath, arg), arg, value) for arg, value in layer if arg not in ("first", "last")]
        for position in ("first", "last"):  # what a repetition changes is checked the same way
            given += [((*lpath, position, k), k, v) for k, v in (getattr(layer, position) or {}).items()]
        for path, arg, value in given:
            if isinstance(value, Section):  # each key of a regularizer, initializer, constraint
                for key, v in value:
                    if v is not None and key in value.DOMAINS:
                        yield (*path, key), layer.type, f"{arg}.{key}", v, value.DOMAINS[key]
            elif arg in domains and value is not None:
                yield path, layer.type, arg, value, domains[arg]
    opt = ctx.spec.model.compile.optimizer
    at = ("model", "compile", "optimizer")
    opt_given: list[tuple[tuple[str, ...], object]] = [(("name",), opt.name)]
    opt_given += [((arg,), v) for arg, v in opt.arguments().items()]
    for which, args in opt.per_optimizer.items():  # one optimizer's own, checked the same way
        opt_given += [(("per_optimizer", which, arg), v) for arg, v in args.arguments().items()]
    for keys, value in opt_given:
        arg = keys[-1]
        if isinstance(value, ScheduleSpec):  # each key of a learning-rate schedule
            for key, v in value:
                if v is not None:
                    yield (*at, *keys, key), "learning_rate", key, v, SCHEDULE_ARGS[key]
        elif arg in OPTIMIZER_ARGS:
            yield (*at, *keys), "optimizer", arg, value, OPTIMIZER_ARGS[arg]
    for arg, value in ctx.spec.model.compile.loss.arguments().items():
        if arg in LOSS_ARGS:
            yield ("model", "compile", "loss", arg), "loss", arg, value, LOSS_ARGS[arg]
    for i, metric in enumerate(ctx.spec.model.compile.metrics):
        for arg, value in metric.arguments().items():
            if arg in METRIC_ARGS:
                yield ("model", "compile", "metrics", i, arg), metric.name, arg, value, METRIC_ARGS[arg]
    for arg, dom in FIT_ARGS.items():
        if getattr(ctx.spec.fit, arg) is not None:
            yield ("fit", arg), "fit", arg, getattr(ctx.spec.fit, arg), dom


def _section_arguments(ctx: Ctx) -> Iterator[Problem]:
    """`{name: glorot_uniform, stddev: 0.1}`: a key the initializer (or constraint) named does not
    take, which Keras would refuse when the first trial builds; for `name: $init`, under any of
    the names it can take."""
    for lpath, layer in iter_layers(ctx.spec.model.layers):
        if not isinstance(layer, LayerSpec):
            continue
        for arg, value in layer:
            if not isinstance(value, Section) or not value.KIND:
                continue
            named = getattr(value, "name", None)  # every section with `ARGS` has a `name`
            possible = ctx.possible(named) or []
            names = [n for n in possible if isinstance(n, str) and n in value.ARGS]
            for key, v in value:
                refusing = [n for n in names if key != "name" and v is not None and key not in value.ARGS[n]]
                if not refusing:
                    continue
                taking = sorted(n for n, keys in value.ARGS.items() if key in keys)
                own = ", ".join(sorted(value.ARGS[refusing[0]])) or "no arguments"
                yield pb.error(
                    "weight-arg-unused",
                    (*lpath, arg, key),
                    f"{layer.type}.{arg}: the {value.KIND} `{refusing[0]}` does not take `{key}`",
                    f"{refusing[0]} takes {own}; `{key}` belongs to "
                    f"{', '.join(taking) or 'no ' + value.KIND}: remove it, or "
                    + (f"let `{named}` take only those" if isinstance(named, HpRef) else "name one of those"),
                )
