"""Normalization layers: mean and variance are learnt (`adapt`) or given, both; a layer that is
neither is Keras' un-adapted one, an identity. The lengths of given lists against the feature
axis are the layer type's shape rule, checked with the shapes."""

from __future__ import annotations

from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.layers import iter_layers
from ktrun.layers.preprocessing import Normalization
from ktrun.problems import Problem
from ktrun.spec.refs import HpRef


def check_normalization(ctx: Ctx) -> Iterator[Problem]:
    for path, layer in iter_layers(ctx.spec.model.layers):
        if isinstance(layer, Normalization):
            yield from _statistics(ctx, path, layer)


def _statistics(ctx: Ctx, path: tuple[str | int, ...], layer: Normalization) -> Iterator[Problem]:
    given = [k for k in ("mean", "variance") if getattr(layer, k) is not None]
    adapts = [True] if layer.adapt is None else ctx.possible(layer.adapt) or []
    if len(given) == 1:
        (one,) = given
        other = "variance" if one == "mean" else "mean"
        yield pb.error(
            "normalization-stats",
            (*path, one),
            f"Normalization has `{one}` but no `{other}`: Keras takes both or neither",
            f"add `{other}:` (like `{one}`: one number, or one per feature), or remove `{one}` to "
            "adapt the layer to the training data",
        )
    elif given:
        mean, variance = layer.mean, layer.variance
        if isinstance(mean, list) and isinstance(variance, list) and len(mean) != len(variance):
            yield pb.error(
                "normalization-stats",
                (*path, "variance"),
                f"Normalization has {len(mean)} means but {len(variance)} variances",
                "give one variance per mean",
            )
        if layer.adapt is not None and True in adapts:
            yield pb.error(
                "normalization-stats",
                (*path, "adapt"),
                "Normalization is given its mean and variance, so it is not adapted, but `adapt:` "
                + ("can be true" if isinstance(layer.adapt, HpRef) else "is true"),
                "remove `adapt:`, or remove mean and variance to adapt the layer to the training data",
            )
    elif False in adapts:
        when = f" when `{layer.adapt.name}` is false" if isinstance(layer.adapt, HpRef) else ""
        yield pb.warning(
            "normalization-identity",
            (*path, "adapt"),
            f"Normalization is neither adapted nor given mean and variance{when}: it normalizes with "
            "mean 0 and variance 1, which changes nothing",
            "remove `adapt: false` to adapt it to each trial's training data, or give `mean` and `variance`",
        )
