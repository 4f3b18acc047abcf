"""`model.hypermodel`: a Keras Tuner HyperModel instead of layers. Its space is ktrun's table of
what its `build` registers (`ktrun.spec.hypermodels`); here, what it needs of the data and of the
hyperparameters a user re-declares."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.values import literal_range, values
from ktrun.checks.common import HP, preview
from ktrun.checks.context import Ctx
from ktrun.layers.applications import PRETRAINED_CHANNELS
from ktrun.layers.shape_math import format_shape
from ktrun.problems import Problem
from ktrun.spec.domains import Domain
from ktrun.spec.hyperparameters import FloatHp, Hyperparameter, IntHp
from ktrun.spec.refs import Scalar

AT = ("model", "hypermodel")


def check_hypermodel(ctx: Ctx) -> Iterator[Problem]:
    spec = ctx.spec
    hypermodel = spec.model.hypermodel
    if hypermodel is None:
        return
    kind = hypermodel.kind
    name = f"{kind.keras_tuner_class} (model.hypermodel)"
    shape = ctx.input_shape
    if shape is not None and len(shape) != 3:
        yield pb.error(
            "hypermodel-input",
            AT,
            f"{name} takes images (height, width, channels), but the samples have shape "
            f"{format_shape(shape)}",
            "use image data (data.source mnist, cifar10, or an npz of images), or set "
            "model.input_shape to the images' shape",
        )
    elif shape is not None and min(shape[:2]) < kind.min_size:
        yield pb.error(
            "hypermodel-input",
            AT,
            f"{name} takes images of at least {kind.min_size}x{kind.min_size}, but the samples "
            f"have shape {format_shape(shape)}",
            "use larger images",
        )
    if spec.data.task != "classification" or spec.data.labels != "one_hot":
        yield pb.error(
            "hypermodel-labels",
            ("data", "labels") if spec.data.task == "classification" else ("data", "task"),
            f"{name} classifies with softmax and categorical_crossentropy, which needs one-hot "
            f"labels, but data.task is {spec.data.task} and data.labels is {spec.data.labels}",
            "set `data: {task: classification, labels: one_hot}`",
        )
    classes = ctx.data.num_classes
    if hypermodel.classes is None and classes is None:
        yield pb.error(
            "missing-key",
            (*AT, "classes"),
            f"{name} needs the number of classes, and the data does not say it",
            "set model.hypermodel.classes (or data.num_classes)",
        )
    elif hypermodel.classes is not None and classes is not None and hypermodel.classes != classes:
        yield pb.error(
            "output-units-mismatch",
            (*AT, "classes"),
            f"model.hypermodel.classes is {hypermodel.classes} but the data has {classes} classes",
            f"set classes: {classes}, or leave it out to take the data's",
        )
    yield from _weights(ctx, name, shape)
    yield from _narrowed(ctx)


def _weights(ctx: Ctx, name: str, shape: tuple[int, ...] | None) -> Iterator[Problem]:
    """ImageNet weights exist for HyperEfficientNet's network only, and for RGB images."""
    hypermodel = ctx.spec.model.hypermodel
    assert hypermodel is not None
    if hypermodel.weights is None:
        return
    if not hypermodel.kind.imagenet:
        yield pb.error(
            "hypermodel-weights",
            (*AT, "weights"),
            f"{name} builds a network of its own, which has no ImageNet weights",
            "remove `weights` (only `type: efficientnet` takes `weights: imagenet`)",
        )
    elif shape is not None and len(shape) == 3 and shape[2] != PRETRAINED_CHANNELS:
        yield pb.error(
            "hypermodel-input",
            (*AT, "weights"),
            f"{name} with ImageNet weights takes RGB images ({PRETRAINED_CHANNELS} channels), but the "
            f"samples have shape {format_shape(shape)}",
            "use RGB images, or `weights: null`",
        )


def _among(value: Scalar, allowed: tuple[Scalar, ...]) -> bool:
    """`0.6` is among a float range's `0.6000000000000001` (stepped values are computed)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value in allowed
    return any(
        isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, value, abs_tol=1e-12)
        for a in allowed
    )


def _narrowed(ctx: Ctx) -> Iterator[Problem]:
    """A user's entry of a HyperModel's hyperparameter replaces it (Keras Tuner returns the value
    registered first), so its values must be ones the build's code can use: any of the domain of
    a widenable one, a subset of the table's for the rest (`version: v3` would have no code)."""
    assert ctx.spec.model.hypermodel is not None
    kind = ctx.spec.model.hypermodel.kind
    for name, table in kind.hyperparameters.items():
        declared = ctx.spec.hyperparameters.get(name)
        if declared is None or declared == table:
            continue
        domain = kind.widens.get(name)
        found = _outside(declared, domain) if domain is not None else _not_subset(name, declared, table)
        if found is None:
            continue
        message, hint = found
        yield pb.error(
            "hypermodel-hp-outside",
            (HP, name),
            f"`{name}` is {kind.keras_tuner_class}'s own hyperparameter, and {message}",
            hint,
        )


def _not_subset(name: str, declared: Hyperparameter, table: Hyperparameter) -> tuple[str, str] | None:
    allowed, given = values(table), values(declared)
    if allowed is None:
        return None
    extra = None if given is None else [v for v in given if not _among(v, allowed)]
    if extra == []:
        return None
    outside = "continuous values" if extra is None else preview(extra)
    return (
        f"can take {outside} that its build has no code for (it branches on its own values)",
        f"declare a subset of its values {preview(allowed)}, or pin one with `pin: {{{name}: ...}}`",
    )


def _outside(declared: Hyperparameter, domain: Domain) -> tuple[str, str] | None:
    """What of a replacing declaration the build cannot use: a kind it does not read, or values
    outside what its code takes."""
    reads = f"its build reads it as {domain.text}"
    if isinstance(declared, IntHp | FloatHp):
        if domain.kind in ("str", "bool") or (isinstance(declared, FloatHp) and domain.kind == "int"):
            kind = "a float" if isinstance(declared, FloatHp) else "an integer"
            return (f"is declared {kind}, but {reads}", _kind_hint(domain))
        lo, hi = literal_range(declared)
        bad = [v for v in (lo, hi) if not domain.value_ok(v)]
        return None if not bad else (f"can be {bad[0]}, but {reads}", f"keep its range within {domain.text}")
    given = values(declared)
    if given is None:
        return None
    wrong = [v for v in given if not domain.type_ok(v)]
    if wrong:
        return (f"can be {wrong[0]!r}, but {reads}", _kind_hint(domain))
    bad = [v for v in given if not domain.value_ok(v)]
    if bad:
        return (f"can be {bad[0]!r}, but {reads}", domain.suggestion(bad[0]) + f"keep only {_listed(domain)}")
    return None


def _listed(domain: Domain) -> str:
    return domain.text + (f": {preview(domain.names, n=len(domain.names))}" if domain.names else "")


def _kind_hint(domain: Domain) -> str:
    if domain.kind == "int":
        return "declare it `type: int`, or a choice of integers"
    if domain.kind == "float":
        return "declare it `type: float`, or a choice of numbers"
    return "declare a choice of " + (preview(domain.names, n=len(domain.names)) if domain.names else "names")
