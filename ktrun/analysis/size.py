"""How many weights a model holds, from its shape walk alone (no TensorFlow, nothing built).

Each layer type counts its own (`LayerType.params`, compared with Keras' `count_params` for
every type by the contract tests). `check` and `plan` report the range over sampled points, and
the layers that hold most of the largest model, where a search's size usually hides: a Dense
after the Flatten of a wide feature map.

FLOPs (`LayerType.flops`, `count_flops`) are one sample's forward pass at inference, in TF's
profiler's convention, which the contract tests compare with (`tf.compat.v1.profiler`'s
`float_operation`): a multiply-add is 2 operations (so FLOPs are twice the MACs papers also
quote), a bias add and other elementwise arithmetic (merges, gates, normalisation) 1 per value,
pooling 1 per window value; activation functions (a layer's `activation:`, the Activation layers,
attention's softmax), data movement (reshapes, padding, lookups) and what is the identity at
inference (dropout, noise, random augmentation) 0. A Backbone and your own layers are unknown.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from ktrun.analysis.feasibility import Checker
from ktrun.analysis.shapes import ShapeTrace, infer
from ktrun.analysis.unroll import unroll
from ktrun.analysis.values import bounds
from ktrun.config.provenance import KeyPath
from ktrun.spec.refs import Scalar


@dataclass(frozen=True)
class Count:
    """A model's weights: `total` of the layers ktrun can count; `exact` when that is all of them."""

    total: int
    exact: bool
    #: The layer holding the most: its key path, type and count.
    largest: tuple[KeyPath, str, int] | None = None
    #: The types of the layers not counted (a Backbone, your own layer).
    uncounted: tuple[str, ...] = ()


def count_params(trace: ShapeTrace) -> Count:
    return _count(trace, "params")


def count_flops(trace: ShapeTrace) -> Count:
    """Floating-point operations of one sample's forward pass (the convention above)."""
    return _count(trace, "flops")


def _count(trace: ShapeTrace, rule: Literal["params", "flops"]) -> Count:
    total, largest = 0, None
    uncounted: list[str] = []
    for layer, out in trace.steps:
        given = tuple(trace.shapes[n] for n in layer.inputs)
        n = getattr(layer.kind, rule)(layer, given, out)
        if n is None:
            uncounted.append(layer.layer.type)
            continue
        total += n
        if largest is None or n > largest[2]:
            largest = (layer.path, layer.layer.type, n)
    return Count(total, not uncounted, largest, tuple(dict.fromkeys(uncounted)))


def weights(n: int, exact: bool = True) -> str:
    """`1.2M`: a count as people say it ("at least" where a layer was not counted)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            text = f"{n / scale:.3g}{unit}"
            break
    else:
        text = str(n)
    return text if exact else f"at least {text}"


#: Beyond this many weights, check warns: 400 MB as float32 before gradients and optimizer state
#: (Adam keeps two more copies), more than most searches mean to train per trial.
LARGE = 100_000_000


@dataclass(frozen=True)
class SizeRange:
    """Weights over the feasible points sampled: the smallest and the largest model."""

    smallest: Count
    largest: Count
    largest_point: dict[str, Scalar]
    samples: int
    #: FLOPs per sample over the same points: the fewest and the most.
    fewest_flops: Count | None = None
    most_flops: Count | None = None


#: Points drawn for the range: the smallest and largest models of a search are usually its
#: corners, which a few dozen random points and the widest one bracket closely.
SAMPLES = 48


def size_range(checker: Checker, seed: int = 0) -> SizeRange | None:
    """The range of model sizes over feasible sampled points (None: shapes are unknown)."""
    spec, space = checker.spec, checker.space
    if checker.input_shape is None or not space.analysable or spec.model.hypermodel is not None:
        return None  # a pre-built HyperModel's layers are its own, not in model.layers
    rng = random.Random(seed)
    points = [_widest(checker), *(space.sample(rng) for _ in range(SAMPLES))]
    found: list[tuple[Count, dict[str, Scalar]]] = []
    flops: list[Count] = []
    for point in points:
        if checker.unmet(point):
            continue
        layers = unroll(spec.model.layers, point, inputs=spec.model.input_names)
        trace = infer(checker.input_shape, layers, checker.input_shapes)
        if trace.failure is None:
            found.append((count_params(trace), point))
            flops.append(count_flops(trace))
    if not found:
        return None
    found.sort(key=lambda f: f[0].total)
    flops.sort(key=lambda c: c.total)
    return SizeRange(found[0][0], found[-1][0], found[-1][1], len(found), flops[0], flops[-1])


def counts_at(checker: Checker, point: dict[str, Scalar]) -> tuple[Count, Count] | None:
    """The weights and FLOPs of the model one point builds (None: its shapes are unknown)."""
    spec = checker.spec
    if checker.input_shape is None or spec.model.hypermodel is not None:
        return None
    layers = unroll(spec.model.layers, point, inputs=spec.model.input_names)
    trace = infer(checker.input_shape, layers, checker.input_shapes)
    return None if trace.failure is not None else (count_params(trace), count_flops(trace))


def _widest(checker: Checker) -> dict[str, Scalar]:
    """Every hyperparameter at its largest value (repeat counts too), parents first."""
    space = checker.space
    point: dict[str, Scalar] = {}
    for name in space.order:
        if not space.is_active(name, point):
            continue
        param = space.params[name]
        widest = bounds(param.decl)
        if widest is not None:
            point[name] = widest[1]
        elif param.values:  # names or true/false: the first
            point[name] = param.values[0]
    return point
