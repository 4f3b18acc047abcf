"""The model's graph: every name a layer reads or `model.outputs` lists is a layer or input
that exists before it, names are unique, and every layer's output reaches an output."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.unroll import output_nodes
from ktrun.checks.context import Ctx
from ktrun.config.provenance import KeyPath
from ktrun.data.named import arrays_of
from ktrun.layers import LayerSpec, Repeat, iter_layers
from ktrun.layers.shape_math import Shape, format_shape
from ktrun.problems import Problem
from ktrun.spec import keras_names as kn


def check_graph(ctx: Ctx) -> Iterator[Problem]:
    model = ctx.spec.model
    inputs = model.input_names
    seen: dict[str, KeyPath] = {}
    later = {
        layer.name for _, layer in iter_layers(model.layers) if isinstance(layer, LayerSpec) and layer.name
    }
    blocks = {
        layer.name for _, layer in iter_layers(model.layers) if isinstance(layer, Repeat) and layer.name
    }
    for path, layer in iter_layers(model.layers):
        if not isinstance(layer, LayerSpec):
            continue
        for i, name in enumerate(layer.inputs or ()):
            if name not in seen and name not in inputs:
                yield _unknown(name, (*path, "inputs", i), [*inputs, *seen], name in later, name in blocks)
        if layer.name is None:
            continue
        if layer.name in seen or layer.name in inputs:
            owner = (
                "a model input"
                if layer.name in inputs
                else f"the layer at {'.'.join(map(str, seen[layer.name]))}"
            )
            yield pb.error(
                "layer-name-duplicate",
                (*path, "name"),
                f"layer name `{layer.name}` is taken by {owner}: Keras needs one name per layer, "
                "and `inputs:` could not say which is meant",
                "give this layer another name",
            )
        seen.setdefault(layer.name, path)
    for i, output in enumerate(model.outputs):
        if output.layer not in seen:
            close = difflib.get_close_matches(output.layer, list(seen), n=1)
            yield pb.error(
                "output-unknown",
                ("model", "outputs", i, "layer"),
                f"model.outputs names `{output.layer}`, but no layer has that name",
                (f"did you mean `{close[0]}`? " if close else "")
                + "give the output layer a `name:` and list that name",
            )
    yield from _unused(ctx)
    yield from _named_outputs(ctx)
    yield from _vocabulary(ctx)


def _vocabulary(ctx: Ctx) -> Iterator[Problem]:
    """An Embedding looks up ids below its `input_dim` (CategoryEncoding: `num_tokens`); a
    larger one fails mid-training (on the CPU) or silently reads zeros (on a GPU). Ids come
    from a TextVectorization (below its `max_tokens`) or a csv's categorical column (its
    training values + 1), checked here on the reference point."""
    trace = ctx.feasibility.reference_trace if ctx.input_shapes is not None else None
    if trace is None or not trace.steps:
        return
    for c, _ in trace.steps:
        arg = _ID_SIZES.get(c.layer.type)
        dim = c.args.get(arg) if arg else None
        if arg is None or not isinstance(dim, int) or not c.inputs:
            continue
        source = trace.producer(c.inputs[0])
        ids: object = None
        if source is None:
            ids = ctx.data.vocabularies.get(c.inputs[0])
            what = f"model input `{c.inputs[0]}` gives ids 0-{ids - 1 if ids else 0} (its categorical column)"
        elif source.layer.type == "TextVectorization" and source.args.get("output_mode") == "int":
            ids = source.args.get("max_tokens")
            what = f"{source.label} gives ids below its max_tokens {ids}"
        else:
            continue
        if isinstance(ids, int) and dim < ids:
            yield pb.error(
                "embedding-vocabulary",
                (*c.path, arg),
                f"{c.label} has {arg} {dim}, but {what}",
                f"set {arg} to {ids} or more (or the same `$name` as the ids' source)",
            )


#: Layers that take ids, and the argument that says how many.
_ID_SIZES = {"Embedding": "input_dim", "CategoryEncoding": "num_tokens"}


def _unknown(name: str, path: KeyPath, known: list[str], comes_later: bool, block: bool) -> Problem:
    if block and not comes_later:
        return pb.error(
            "layer-input-unknown",
            path,
            f"`{name}` names a repeat block, which is not a layer",
            f"give the block's last layer a `name:` and read that (after the block it is the "
            f"last repetition's), or set residual: true on `{name}` for a skip connection",
        )
    if comes_later:
        return pb.error(
            "layer-input-unknown",
            path,
            f"`{name}` is read before the layer of that name: layers read only layers above them",
            f"move the layer named `{name}` above this one, or read another layer",
        )
    close = difflib.get_close_matches(name, known, n=1)
    return pb.error(
        "layer-input-unknown",
        path,
        f"`{name}` is neither a layer name nor a model input",
        (f"did you mean `{close[0]}`? " if close else "")
        + f"name a layer above this one (its `name:`) or an input ({', '.join(known) or 'none yet'})",
    )


def _unused(ctx: Ctx) -> Iterator[Problem]:
    """Keras keeps only what the outputs depend on: a layer off that path is silently dropped,
    and the hyperparameters it reads are searched for nothing."""
    trace = ctx.feasibility.reference_trace if ctx.input_shapes is not None else None
    if trace is None or trace.failure is not None or not trace.steps:
        return
    layers = [c for c, _ in trace.steps]
    needed = set(output_nodes(layers, [o.layer for o in ctx.spec.model.outputs]))
    for c in reversed(layers):
        if c.node in needed:
            needed.update(c.inputs)
    reported: set[KeyPath] = set()
    for c in layers:
        if c.node not in needed and c.path not in reported:
            reported.add(c.path)
            yield pb.warning(
                "layer-unused",
                c.path,
                f"the output of {c.label} reaches no model output: Keras drops it from the model",
                "read it in a later layer's `inputs:`, list it in model.outputs, or remove it",
            )
    unread = [n for n in ctx.spec.model.input_names if n not in needed]
    for name in unread if ctx.spec.model.inputs else ():
        yield pb.warning(
            "layer-unused",
            ("model", "inputs", name),
            f"model input `{name}` is read by no layer that reaches an output",
            f"list `{name}` in the `inputs:` of the layer that should read it",
        )


def _named_outputs(ctx: Ctx) -> Iterator[Problem]:
    """Each output of a model with named targets against its own labels' array: what its loss
    needs of the output's shape (class ids: one unit per class; anything else: the target's
    shape, a scalar target taking one unit)."""
    arrays = arrays_of(ctx.spec.model)
    trace = ctx.feasibility.reference_trace if ctx.input_shapes is not None else None
    if arrays is None or not arrays.outputs or trace is None or trace.failure is not None or not trace.steps:
        return  # named inputs with the one implicit output: its labels are y, checked as any model's
    layers = [c for c, _ in trace.steps]
    nodes = output_nodes(layers, [o.layer for o in ctx.spec.model.outputs])
    model = ctx.spec.model
    for i, (output, feed, node) in enumerate(zip(model.outputs, arrays.outputs, nodes, strict=True)):
        target = ctx.data.arrays.get(feed.array)
        out = trace.shapes.get(node)
        if target is None or out is None:
            continue
        loss = (output.loss or model.compile.loss).name
        kind = kn.LOSSES.get(loss)
        if kind == "sparse":
            ok = len(out) == len(target) + 1 or (target == (1,) and len(out) == 1)
            need = "one unit per class after the target's axes (class ids)"
        else:
            ok = _same(out, target)
            need = f"the shape of its target {format_shape(target)}"
        if ok:
            continue
        producer = trace.producer(node)
        one_axis = kind != "sparse" and len(out) == len(target or (1,)) == 1
        yield pb.error(
            "output-shape-mismatch",
            producer.path if producer is not None else ("model", "outputs", i),
            f"output `{output.layer}` is {format_shape(out)} per sample, but {loss} needs {need} "
            f"(array '{feed.array}' holds {format_shape(target)} per sample)",
            (
                f"set units: {target[-1] if target else 1} on `{output.layer}`"
                if one_axis
                else f"make `{output.layer}` output {format_shape(target or (1,))} (Dense units, a "
                f"Reshape), or set its loss (model.outputs.{i}.loss) to one that fits these labels"
            ),
        )


def _same(out: Shape, target: tuple[int, ...]) -> bool:
    """A target of one value per sample is what one output unit gives."""
    want: Shape = target or (1,)
    return len(out) == len(want) and all(o is None or o == t for o, t in zip(out, want, strict=True))
