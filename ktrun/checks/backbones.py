"""Backbones: their weights come from a local file, Keras' cache (`imagenet`) or nowhere (a run
never downloads), and `fine_tune_from` leaves something to train. Shapes (image rank, minimum
size, channels, the widths ImageNet weights exist for) are the layer type's shape rule, checked
with the others."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ktrun import problems as pb
from ktrun.analysis.feasibility import Checker
from ktrun.analysis.shapes import ShapeTrace
from ktrun.analysis.space import Space
from ktrun.checks.context import Ctx
from ktrun.config.provenance import KeyPath
from ktrun.config.trust import clip, resolved_inside
from ktrun.layers import iter_layers
from ktrun.layers.applications import (
    APPLICATIONS,
    IMAGENET,
    WEIGHTS_SUFFIXES,
    Backbone,
    imagenet_fetch,
    imagenet_file,
)
from ktrun.layers.base import ConcreteLayer
from ktrun.layers.shape_math import Shape
from ktrun.problems import Problem
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.refs import HpRef


def check_backbones(ctx: Ctx) -> Iterator[Problem]:
    for path, layer in iter_layers(ctx.spec.model.layers):
        if isinstance(layer, Backbone):
            yield from _weights(ctx, (*path, "weights"), layer)
            yield from _fine_tune_from(ctx, (*path, "fine_tune_from"), layer)
    for need in imagenet_needs(ctx.spec, ctx.space, ctx.checker):
        yield pb.info(
            "imagenet-weights-needed",
            need.path,
            f"the run loads {need.what}'s ImageNet weights from Keras' cache, the file "
            f"`{need.file}` in $KERAS_HOME/models (default ~/.keras/models); `ktrun check` does "
            "not look there, a run without it stops before the first trial",
            f"fetch it once on a machine with network: `{need.fetch}`, or copy the file there",
        )


@dataclass(frozen=True)
class ImagenetNeed:
    """One ImageNet weights file a search can load, and the first setting that needs it."""

    file: str
    path: KeyPath
    #: The `keras.applications` constructor and width multiplier it is for.
    application: str
    alpha: float | None
    #: The command that makes Keras download it into its cache.
    fetch: str

    @property
    def what(self) -> str:
        """`MobileNetV2 (alpha 0.35)`: the network it is for."""
        return self.application if self.alpha is None else f"{self.application} (alpha {self.alpha})"


#: Points of the shape-deciding hyperparameters walked for the files; more are sampled.
NEEDS_ENUMERATED = 2_000
NEEDS_SAMPLED = 500


def imagenet_needs(spec: ExperimentSpec, space: Space, checker: Checker) -> list[ImagenetNeed]:
    """Every ImageNet weights file some trainable point of the space loads (a Backbone's name
    depends on its application, alpha and input side; HyperEfficientNet's on `version`). Points
    whose shapes fail are never built, so they need nothing."""
    hypermodel = spec.model.hypermodel
    if hypermodel is not None:
        if hypermodel.weights != IMAGENET or not hypermodel.kind.imagenet or "version" not in space.params:
            return []
        versions = space.params["version"].values or ()
        return [
            ImagenetNeed(
                imagenet_file(f"EfficientNet{v}", None, (None, None)) or "",
                ("model", "hypermodel", "weights"),
                f"EfficientNet{v}",
                None,
                imagenet_fetch(f"EfficientNet{v}", None, (None, None)),
            )
            for v in versions
        ]
    layers = iter_layers(spec.model.layers)
    backbones = [(path, x) for path, x in layers if isinstance(x, Backbone) and x.weights == IMAGENET]
    if not backbones:
        return []
    if checker.input_shape is None or not space.analysable:  # no shapes: the literal settings
        return _needs(
            (x.application, x.alpha, (None, None), path)
            for path, x in backbones
            if isinstance(x.application, str) and not isinstance(x.alpha, HpRef)
        )
    names = sorted(checker.shape_names)
    if space.size_bound(names) <= NEEDS_ENUMERATED:
        points = list(space.enumerate(names))
    else:
        rng = random.Random(spec.experiment.seed)
        points = [space.sample(rng, set(names)) for _ in range(NEEDS_SAMPLED)]
    return _needs(
        (layer.args["application"], layer.args["alpha"], _input_shape(trace, layer), layer.path)
        for point in points
        if (trace := checker.shape_trace(point)) is not None and not checker.violations(point)
        for layer, _ in trace.steps
        if isinstance(layer.layer, Backbone) and layer.args["weights"] == IMAGENET
    )


def _input_shape(trace: ShapeTrace, layer: ConcreteLayer) -> Shape:
    return trace.shapes.get(layer.inputs[0], (None, None)) if layer.inputs else trace.input_shape


def _needs(uses: Iterable[tuple[object, object, Shape, KeyPath]]) -> list[ImagenetNeed]:
    """One need per file (application, alpha, input side), at the first layer that loads it."""
    found: dict[str, ImagenetNeed] = {}
    for application, alpha, shape, path in uses:
        name = str(application)
        a = alpha if isinstance(alpha, int | float) else None
        file = imagenet_file(name, a, shape) if name in APPLICATIONS else None
        if file is not None and file not in found:
            found[file] = ImagenetNeed(file, (*path, "weights"), name, a, imagenet_fetch(name, a, shape))
    return list(found.values())


def _example(layer: Backbone) -> str:
    return layer.application if isinstance(layer.application, str) else "MobileNetV2"


def _weights(ctx: Ctx, at: tuple[str | int, ...], layer: Backbone) -> Iterator[Problem]:
    weights = layer.weights
    if weights is None:
        return
    app = _example(layer)
    saved = f"weights/{app.lower()}_notop.weights.h5"
    if weights == IMAGENET:
        return  # the files it needs are named once for the whole model (`imagenet_files`)
    if "://" in weights:
        yield pb.error(
            "backbone-weights-download",
            at,
            f"weights `{clip(weights)}` would be downloaded at run time; ktrun runs never download",
            "use `weights: imagenet` (Keras' ImageNet weights, from its cache), or download once "
            f"and point at the file: `weights: {saved}` (or `weights: null` for random initialisation)",
        )
        return
    if not weights.endswith(WEIGHTS_SUFFIXES):
        yield pb.error(
            "backbone-weights-file",
            at,
            f"weights `{clip(weights)}` is not a Keras weights file (`.weights.h5`)",
            f"save them with `model.save_weights('{saved}')` and point at that file, or use `weights: null`",
        )
        return
    roots = ctx.data_roots
    if roots is not None and not any(resolved_inside(weights, r) for r in roots):
        yield pb.info(
            "weights-file-not-read",
            at,
            f"{clip(weights, 160)} is outside the project, so `ktrun check` did not look at it "
            "(the run loads it when the first model is built)",
            "keep weights files under the directory you run ktrun in to have check find them",
        )
        return
    if not Path(weights).expanduser().is_file():
        yield pb.error(
            "backbone-weights-file",
            at,
            f"weights file `{clip(weights)}` does not exist (from {Path.cwd()})",
            "give the path of a weights file saved with `model.save_weights(...)`, relative to "
            "the directory you run ktrun in, or use `weights: null`",
        )


def _fine_tune_from(ctx: Ctx, at: tuple[str | int, ...], layer: Backbone) -> Iterator[Problem]:
    """An index at or past the last layer freezes everything: `trainable: false` in disguise."""
    names = ctx.possible(layer.application) or []
    apps = [(n, APPLICATIONS[n]) for n in names if isinstance(n, str) and n in APPLICATIONS]
    starts = [v for v in ctx.possible(layer.fine_tune_from) or [] if isinstance(v, int)]
    for name, app in apps:
        over = [v for v in starts if v >= app.layers]
        if over:
            yield pb.warning(
                "fine-tune-from-too-large",
                at,
                f"fine_tune_from can be {over[0]}, but {name} has {app.layers} layers, so it "
                "freezes them all and nothing of the backbone is fine-tuned",
                f"use an index below {app.layers} (e.g. {app.layers * 3 // 4} trains its last "
                "quarter), or `trainable: false` to freeze it on purpose",
            )
            return
