"""Per-sample shape inference through ktrun's layers, with Keras 3's own output-size formulas.

Keras raises "Computed output size would be zero or negative" when a kernel or pool is larger
than the feature map it meets; that happens inside `build_model`, after TensorFlow has loaded
and often after earlier trials trained. Here the same arithmetic runs on plain integers, for
every combination of the hyperparameters that decide shapes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ktrun.analysis.space import ConcreteLayer
from ktrun.spec import layers as L

Dim = int | None
Shape = tuple[Dim, ...]


def format_shape(shape: Shape) -> str:
    return (
        "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    )


@dataclass(frozen=True)
class ShapeFailure:
    code: str
    layer: ConcreteLayer
    message: str
    hint: str
    arg: str | None = None  # the argument to change, when one is to blame

    @property
    def path(self) -> tuple[str | int, ...]:
        return (*self.layer.path, self.arg) if self.arg else self.layer.path


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


def _tuple(v: object, rank: int) -> tuple[Dim, ...]:
    if isinstance(v, list):
        if len(v) != rank:
            return (None,) * rank
        return tuple(x if isinstance(x, int) else None for x in v)
    return (v if isinstance(v, int) else None,) * rank


def _rank_hint(layer: ConcreteLayer, shape: Shape, need: int) -> str:
    t = layer.layer.type
    if need > len(shape):
        return (
            f"{t} needs a per-sample input of rank {need}; add a Reshape layer before it "
            f"(e.g. target_shape {list(shape) + [1] * (need - len(shape))}) or set "
            f"model.input_shape"
        )
    return f"{t} needs a per-sample input of rank {need}; add Flatten or a global pooling layer"


def _conv_out(
    dims: Shape,
    k: tuple[Dim, ...],
    s: tuple[Dim, ...],
    d: tuple[Dim, ...],
    padding: object,
) -> tuple[Shape, int | None]:
    """Output spatial dims and the first axis whose output would be <= 0."""
    out: list[Dim] = []
    bad: int | None = None
    for axis, (n, kk, ss, dd) in enumerate(zip(dims, k, s, d, strict=True)):
        if n is None or ss is None or (padding == "valid" and (kk is None or dd is None)):
            out.append(None)
            continue
        if padding == "valid":
            o = math.floor((n - dd * (kk - 1) - 1) / ss) + 1  # type: ignore[operator]
        elif padding in ("same", "causal"):
            o = math.floor((n - 1) / ss) + 1
        else:
            out.append(None)
            continue
        if o <= 0 and bad is None:
            bad = axis
        out.append(o)
    return tuple(out), bad


def _step(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    spec, a = layer.layer, layer.args

    def fail(code: str, message: str, hint: str, arg: str | None = None) -> ShapeFailure:
        return ShapeFailure(code, layer, message, hint, arg)

    if isinstance(spec, L.Custom):  # opaque: what it declares, or the shape it received
        declared = a.get("output_shape")
        if declared is None:
            return shape
        sizes = declared if isinstance(declared, list) else [declared]
        return tuple(d if isinstance(d, int) else None for d in sizes)
    if isinstance(spec, L._Conv | L._Pool | L._GlobalPool):
        rank = spec.rank
        if len(shape) != rank + 1:
            return fail(
                "rank-mismatch",
                f"{spec.type} expects a per-sample input of rank {rank + 1} "
                f"({'steps, channels' if rank == 1 else 'height, width, channels'}) but receives "
                f"{format_shape(shape)}",
                _rank_hint(layer, shape, rank + 1),
            )
        if isinstance(spec, L._GlobalPool):
            return (shape[-1],)
        dims = shape[:-1]
        if isinstance(spec, L._Conv):
            k = _tuple(a["kernel_size"], rank)
            strides, dilation = _tuple(a["strides"], rank), _tuple(a["dilation_rate"], rank)
            if any((x or 1) > 1 for x in strides) and any((x or 1) > 1 for x in dilation):
                return fail(
                    "conv-strides-dilation",
                    f"{spec.type} has strides {a['strides']} and dilation_rate "
                    f"{a['dilation_rate']}; Keras supports strides > 1 or dilation > 1, not both",
                    "use strides 1 with dilation, or dilation 1 with strides",
                )
            out, bad = _conv_out(
                dims, k, _tuple(a["strides"], rank), _tuple(a["dilation_rate"], rank), a["padding"]
            )
            if bad is not None:
                size = "x".join(str(x) for x in k)
                return fail(
                    "kernel-too-large",
                    f"{spec.type} kernel {size} does not fit its {format_shape(shape)} input "
                    f"(padding '{a['padding']}' would give an output size <= 0)",
                    "constrain the kernel (e.g. `kernel_1 <= 5`), use `padding: same`, or pool "
                    "less before this layer; or leave it: such points are excluded from the search",
                    "kernel_size",
                )
            f = a["filters"]
            return (*out, f if isinstance(f, int) else None)
        p = _tuple(a["pool_size"], rank)
        s = _tuple(a["strides"] if a.get("strides") is not None else a["pool_size"], rank)
        out, bad = _conv_out(dims, p, s, (1,) * rank, a["padding"])
        if bad is not None:
            return fail(
                "pool-too-large",
                f"{spec.type} pool {'x'.join(str(x) for x in p)} does not fit its "
                f"{format_shape(shape)} input",
                "pool less, use `padding: same`, or limit the repeat count; or leave it: such "
                "points are excluded from the search",
                "pool_size",
            )
        return (*out, shape[-1])
    if isinstance(spec, L.Dense):
        if not shape:
            return fail("rank-mismatch", "Dense receives a scalar input", "add a Reshape layer")
        u = a["units"]
        return (*shape[:-1], u if isinstance(u, int) else None)
    if isinstance(spec, L.Flatten):
        if any(d is None for d in shape):
            return (None,)
        return (math.prod(shape),)  # type: ignore[arg-type]
    if isinstance(spec, L.Reshape):
        target = list(spec.target_shape)
        if target.count(-1) > 1 or any(t == 0 or t < -1 for t in target):
            return fail(
                "reshape-mismatch",
                f"Reshape target_shape {target} is not a shape (positive sizes, at most one -1)",
                "give positive sizes, with at most one -1",
            )
        if any(d is None for d in shape):
            return tuple(None if t == -1 else t for t in target)
        total = math.prod(shape)  # type: ignore[arg-type]
        known = math.prod(t for t in target if t != -1)
        if -1 in target:
            if total % known:
                return fail(
                    "reshape-mismatch",
                    f"Reshape cannot turn {format_shape(shape)} ({total} values) into {target}",
                    f"the known sizes must divide {total}",
                )
            target[target.index(-1)] = total // known
        elif known != total:
            return fail(
                "reshape-mismatch",
                f"Reshape cannot turn {format_shape(shape)} ({total} values) into {target} ({known} values)",
                f"choose a target_shape whose sizes multiply to {total}, or use -1 for one axis",
            )
        return tuple(target)
    if isinstance(spec, L.Embedding):
        if len(shape) != 1:
            return fail(
                "rank-mismatch",
                f"Embedding expects a per-sample sequence of token ids (rank 1) but receives "
                f"{format_shape(shape)}",
                "put Embedding first, on integer token data",
            )
        od = a["output_dim"]
        return (shape[0], od if isinstance(od, int) else None)
    if isinstance(spec, L._Recurrent):
        if len(shape) != 2:
            return fail(
                "rank-mismatch",
                f"{spec.type} expects a per-sample input of rank 2 (timesteps, features) but "
                f"receives {format_shape(shape)}",
                _rank_hint(layer, shape, 2),
            )
        u = a["units"]
        u = u if isinstance(u, int) else None
        return (shape[0], u) if a["return_sequences"] is True else (u,)
    return shape  # Dropout, normalisation, Activation keep the shape


def infer(input_shape: Sequence[int], layers: Sequence[ConcreteLayer]) -> ShapeTrace:
    shape: Shape = tuple(input_shape)
    steps: list[tuple[ConcreteLayer, Shape]] = []
    for layer in layers:
        out = _step(layer, shape)
        if isinstance(out, ShapeFailure):
            return ShapeTrace(tuple(input_shape), tuple(steps), out)
        steps.append((layer, out))
        shape = out
    return ShapeTrace(tuple(input_shape), tuple(steps), None)
