"""Per-sample shape inference through ktrun's layers, with Keras 3's own output-size formulas.

Keras raises "Computed output size would be zero or negative" when a kernel or pool is larger
than the feature map it meets; that happens inside `build_model`, after TensorFlow has loaded
and often after earlier trials trained. Here the same arithmetic runs on plain integers, for
every combination of the hyperparameters that decide shapes.

This module is the walk; each layer type's rule lives with the rest of that type in `ktrun.layers`
(reached through its registry entry), written in `ktrun.layers.shape_math`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ktrun.layers.shape_math import Shape, ShapeFailure, format_shape

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer


@dataclass(frozen=True)
class ShapeTrace:
    """Shapes after each layer, and the first failure if any."""

    input_shape: Shape
    steps: tuple[tuple[ConcreteLayer, Shape], ...]
    failure: ShapeFailure | None

    @property
    def output(self) -> Shape:
        return self.steps[-1][1] if self.steps else self.input_shape

    def deciding(self, point: Mapping[str, object], limit: int = 6) -> str:
        """`kernel_1=7, num_blocks=2`: the values the layers up to the failure read."""
        layers = [c for c, _ in self.steps] + ([self.failure.layer] if self.failure else [])
        names = list(dict.fromkeys(n for c in layers for n in c.refs if n in point))
        shown = ", ".join(f"{n}={point[n]}" for n in names[:limit])
        return (shown + (", ..." if len(names) > limit else "")) or "every point"

    def describe(self) -> str:
        parts = [f"input {format_shape(self.input_shape)}"]
        parts += [f"{c.layer.type} {format_shape(s)}" for c, s in self.steps]
        if self.failure:
            parts.append(f"{self.failure.layer.layer.type} ✗")
        return " → ".join(parts)


def infer(input_shape: Sequence[int], layers: Sequence[ConcreteLayer]) -> ShapeTrace:
    """Each layer's registered shape rule in turn, up to the first failure."""
    shape: Shape = tuple(input_shape)
    steps: list[tuple[ConcreteLayer, Shape]] = []
    for layer in layers:
        out = layer.kind.shape(layer, shape)
        if isinstance(out, ShapeFailure):
            return ShapeTrace(tuple(input_shape), tuple(steps), _better_hint(out, steps, shape))
        steps.append((layer, out))
        shape = out
    return ShapeTrace(tuple(input_shape), tuple(steps), None)


def _better_hint(
    failure: ShapeFailure, steps: list[tuple[ConcreteLayer, Shape]], shape: Shape
) -> ShapeFailure:
    """A rank too low right after a layer that can keep its time axis (a recurrent layer that
    returns only its last output): the fix the language offers is that argument, not a Reshape."""
    if failure.code != "rank-mismatch" or not steps or len(shape) != 1:
        return failure
    holder = steps[-1][0].sequence_holder()
    if holder is None or holder[0].args.get(holder[1]):
        return failure
    layer, arg = holder
    if layer.path[-1] == "layer":  # wrapped: `last:` gives the last repetition another layer
        inside = f" (in a repeat block, `last: {{layer: ...}}` with `{arg}: false` keeps the last one flat)"
    else:
        inside = f" (in a repeat block, `last: {{{arg}: false}}` keeps the last one flat)"
    hint = f"set `{arg}: true` on the {layer.label}{inside if layer.index else ''}"
    return replace(failure, hint=hint)
