"""The model's graph: every name a layer reads or `model.outputs` lists is a layer or input
that exists before it, names are unique, and every layer's output reaches an output."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.unroll import output_nodes
from ktrun.checks.context import Ctx
from ktrun.config.provenance import KeyPath
from ktrun.layers import LayerSpec, Repeat, iter_layers
from ktrun.problems import Problem


def check_graph(ctx: Ctx) -> Iterator[Problem]:
    model = ctx.spec.model
    inputs = model.input_names
    seen: dict[str, KeyPath] = {}
    later = {
        layer.name
        for _, layer in iter_layers(model.layers)
        if isinstance(layer, LayerSpec | Repeat) and layer.name
    }
    for path, layer in iter_layers(model.layers):
        if not isinstance(layer, LayerSpec):
            continue
        for i, name in enumerate(layer.inputs or ()):
            if name not in seen and name not in inputs:
                yield _unknown(name, (*path, "inputs", i), [*inputs, *seen], name in later)
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


def _unknown(name: str, path: KeyPath, known: list[str], comes_later: bool) -> Problem:
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
