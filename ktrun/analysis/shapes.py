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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ktrun.analysis.unroll import MISSING_PREFIX
from ktrun.layers.shape_math import Shape, ShapeFailure, format_shape
from ktrun.spec.experiment import DEFAULT_INPUT

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer


@dataclass(frozen=True)
class ShapeTrace:
    """Shapes after each layer, and the first failure if any."""

    input_shape: Shape
    steps: tuple[tuple[ConcreteLayer, Shape], ...]
    failure: ShapeFailure | None
    #: Every node's shape: the model inputs' and each layer's, by node id.
    shapes: Mapping[str, Shape] = field(default_factory=dict)

    @property
    def output(self) -> Shape:
        return self.steps[-1][1] if self.steps else self.input_shape

    def producer(self, node: str) -> ConcreteLayer | None:
        """The layer that made `node` (None for a model input)."""
        return next((c for c, _ in self.steps if c.node == node), None)

    def deciding(self, point: Mapping[str, object], limit: int = 6) -> str:
        """`kernel_1=7, num_blocks=2`: the values the layers up to the failure read."""
        layers = [c for c, _ in self.steps] + ([self.failure.layer] if self.failure else [])
        names = list(dict.fromkeys(n for c in layers for n in c.refs if n in point))
        shown = ", ".join(f"{n}={point[n]}" for n in names[:limit])
        return (shown + (", ..." if len(names) > limit else "")) or "every point"

    def describe(self) -> str:
        parts = [f"input {format_shape(self.input_shape)}"]
        parts += [f"{_named(c)} {format_shape(s)}" for c, s in self.steps]
        if self.failure:
            parts.append(f"{_named(self.failure.layer)} ✗")
        return " → ".join(parts)


def _named(layer: ConcreteLayer) -> str:
    """`Concatenate ← seen, meta` where a layer reads named layers rather than the one before."""
    reads = getattr(layer.layer, "inputs", None)
    return f"{layer.layer.type} ← {', '.join(reads)}" if reads else layer.layer.type


def infer(
    input_shape: Sequence[int],
    layers: Sequence[ConcreteLayer],
    inputs: Mapping[str, Sequence[int]] | None = None,
) -> ShapeTrace:
    """Each layer's registered shape rule in graph order, up to the first failure.

    `inputs` gives every model input's shape by name; by default the one input is `input_shape`.
    """
    first: Shape = tuple(input_shape)
    shapes: dict[str, Shape] = {k: tuple(v) for k, v in (inputs or {DEFAULT_INPUT: input_shape}).items()}
    steps: list[tuple[ConcreteLayer, Shape]] = []
    for layer in layers:
        given = _given(layer, shapes)
        if isinstance(given, ShapeFailure):
            return ShapeTrace(first, tuple(steps), given, shapes)
        kind = layer.kind
        out = kind.merge(layer, given) if kind.merge is not None else kind.shape(layer, given[0])
        if isinstance(out, ShapeFailure):
            trace = ShapeTrace(first, tuple(steps), out, shapes)
            before = trace.producer(layer.inputs[0]) if layer.inputs else None
            return replace(trace, failure=_better_hint(out, before, given[0]))
        steps.append((layer, out))
        shapes[layer.node] = out
    return ShapeTrace(first, tuple(steps), None, shapes)


def _given(layer: ConcreteLayer, shapes: Mapping[str, Shape]) -> tuple[Shape, ...] | ShapeFailure:
    """The shapes a layer reads, or why it cannot read them at this point."""
    missing = [n.removeprefix(MISSING_PREFIX) for n in layer.inputs if n not in shapes]
    if missing:
        return ShapeFailure(
            "layer-input-missing",
            layer,
            f"{layer.layer.type} reads `{missing[0]}`, which no layer before it builds at this point",
            f"name a layer that comes earlier in model.layers and exists whenever this one does "
            f"(check the `when:` of `{missing[0]}`)",
            arg="inputs",
        )
    least, most = layer.kind.arity
    n = len(layer.inputs)
    if n < least or (most is not None and n > most):
        wanted = f"{least}" if least == most else f"{least} or more" if most is None else f"{least} to {most}"
        return ShapeFailure(
            "layer-arity",
            layer,
            f"{layer.layer.type} reads {wanted} inputs but is given {n}",
            f"list {wanted} layer names in its `inputs:`",
            arg="inputs",
        )
    return tuple(shapes[n] for n in layer.inputs)


def _better_hint(failure: ShapeFailure, before: ConcreteLayer | None, shape: Shape) -> ShapeFailure:
    """A rank too low right after a layer that can keep its time axis (a recurrent layer that
    returns only its last output): the fix the language offers is that argument, not a Reshape."""
    if failure.code != "rank-mismatch" or before is None or len(shape) != 1:
        return failure
    holder = before.sequence_holder()
    if holder is None or holder[0].args.get(holder[1]):
        return failure
    layer, arg = holder
    if layer.path[-1] == "layer":  # wrapped: `last:` gives the last repetition another layer
        inside = f" (in a repeat block, `last: {{layer: ...}}` with `{arg}: false` keeps the last one flat)"
    else:
        inside = f" (in a repeat block, `last: {{{arg}: false}}` keeps the last one flat)"
    hint = f"set `{arg}: true` on the {layer.label}{inside if layer.index else ''}"
    return replace(failure, hint=hint)
