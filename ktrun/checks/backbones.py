"""Backbones: their weights come from a local file or nowhere (a run never downloads), and
`fine_tune_from` leaves something to train. Shapes (image rank, minimum size, channels) are the
layer type's shape rule, checked with the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.config.trust import clip, resolved_inside
from ktrun.layers import iter_layers
from ktrun.layers.applications import APPLICATIONS, WEIGHTS_SUFFIXES, Backbone
from ktrun.problems import Problem


def check_backbones(ctx: Ctx) -> Iterator[Problem]:
    for path, layer in iter_layers(ctx.spec.model.layers):
        if isinstance(layer, Backbone):
            yield from _weights(ctx, (*path, "weights"), layer)
            yield from _fine_tune_from(ctx, (*path, "fine_tune_from"), layer)


def _example(layer: Backbone) -> str:
    return layer.application if isinstance(layer.application, str) else "MobileNetV2"


def _weights(ctx: Ctx, at: tuple[str | int, ...], layer: Backbone) -> Iterator[Problem]:
    weights = layer.weights
    if weights is None:
        return
    app = _example(layer)
    saved = f"weights/{app.lower()}_notop.weights.h5"
    if weights == "imagenet" or "://" in weights:
        yield pb.error(
            "backbone-weights-download",
            at,
            f"weights `{clip(weights)}` would be downloaded at run time; ktrun runs never download",
            f"download once in Python: `keras.applications.{app}(include_top=False, "
            f"weights='imagenet').save_weights('{saved}')`, then set `weights: {saved}` "
            "(or `weights: null` for random initialisation)",
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
