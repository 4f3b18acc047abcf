"""The concrete model one point builds: repeat blocks expanded, `when:` applied, references
replaced by the point's values, and each layer's place in the graph (the nodes it reads). The
shape walk, the feasibility checks and the builder all use it.

A layer reads the layer before it unless it names others in `inputs:`. A name means the latest
layer of that name built so far: inside a repeat block, this repetition's; after the block, the
last repetition's. A name that no layer built (yet) at this point reads `MISSING_PREFIX + name`,
which the shape walk reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ktrun.analysis.expressions import parse_cached
from ktrun.analysis.space import Scope, block_names, refs_in
from ktrun.config.provenance import KeyPath
from ktrun.layers import Repeat
from ktrun.layers.base import POSITION_KEYS, ConcreteLayer, LayerSpec
from ktrun.layers.merge import Add
from ktrun.spec.base import Strict
from ktrun.spec.experiment import DEFAULT_INPUT
from ktrun.spec.refs import HpExpr, HpRef, Scalar


def _resolve(value: object, scope: Scope, point: Mapping[str, Scalar]) -> object:
    if isinstance(value, HpRef):
        return point.get(scope.resolve(value.name))
    if isinstance(value, HpExpr):
        return computed(value, point, scope.resolve)
    if isinstance(value, list):
        return [_resolve(v, scope, point) for v in value]
    if isinstance(value, Strict):  # a section such as a regularizer: its keys, resolved
        return {k: _resolve(v, scope, point) for k, v in value if v is not None}
    return value


def computed(value: HpExpr, point: Mapping[str, Scalar], rename: Callable[[str], str] = str) -> object:
    """An expression argument's value at `point` (a repeat block's names read this repetition's
    instances); None where a name it reads is absent or it cannot be evaluated (checks say why)."""
    expr = parse_cached(value.text)
    if expr is None:
        return None
    env = {n: point.get(rename(n)) for n in expr.names}
    if any(v is None for v in env.values()):
        return None
    return expr.value_or_none(env)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Node:
    """A layer with its arguments pre-extracted (Pydantic iteration is slow in hot loops)."""

    layer: Any
    path: KeyPath
    when: tuple[tuple[str, tuple[Scalar, ...]], ...]
    args: tuple[tuple[str, object], ...] = ()
    first: tuple[tuple[str, object], ...] = ()
    last: tuple[tuple[str, object], ...] = ()
    times: object = None
    names: frozenset[str] = frozenset()  # a repeat block's per-repetition names
    children: tuple[_Node, ...] = ()
    wraps: bool = False  # holds a layer (`layer:`), which becomes a concrete layer of its own
    name: str | None = None
    inputs: tuple[str, ...] = ()
    residual: bool = False
    #: The hyperparameter names `args`, `first` and `last` read (found once, not per point).
    refs: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())
    #: `args` split once: those that read no hyperparameter, already resolved, and the others.
    fixed: tuple[tuple[str, object], ...] = ()
    dynamic: tuple[tuple[str, object], ...] = ()


def _names_read(given: tuple[tuple[str, object], ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.name for _, v in given for r in refs_in(v)))


_NO_SCOPE = Scope({}, (), frozenset())
_COMPILED: dict[int, tuple[Sequence[Any], tuple[_Node, ...]]] = {}


def _compile_layers(layers: Sequence[Any], path: KeyPath) -> tuple[_Node, ...]:
    nodes = []
    for i, layer in enumerate(layers):
        lpath = (*path, i)
        when = tuple((k, tuple(v)) for k, v in (layer.when or {}).items())
        if isinstance(layer, Repeat):
            names = frozenset(block_names(layer.layers) - set(layer.shared))
            children = _compile_layers(layer.layers, (*lpath, "layers"))
            nodes.append(
                _Node(
                    layer,
                    lpath,
                    when,
                    times=layer.times,
                    names=names,
                    children=children,
                    residual=layer.residual,
                )
            )
        else:
            args = tuple((k, v) for k, v in layer if k not in POSITION_KEYS or k == "name")
            first, last = (tuple((getattr(layer, k) or {}).items()) for k in ("first", "last"))
            wraps = any(isinstance(v, LayerSpec) for _, v in (*args, *first, *last))
            inputs = tuple(layer.inputs or ())
            nodes.append(
                _Node(
                    layer,
                    lpath,
                    when,
                    args=args,
                    first=first,
                    last=last,
                    wraps=wraps,
                    name=layer.name,
                    inputs=inputs,
                    refs=(_names_read(args), _names_read(first), _names_read(last)),
                    fixed=tuple((k, _resolve(v, _NO_SCOPE, {})) for k, v in args if not refs_in(v)),
                    dynamic=tuple((k, v) for k, v in args if refs_in(v)),
                )
            )
    return tuple(nodes)


def _compiled(layers: Sequence[Any], path: KeyPath) -> tuple[_Node, ...]:
    hit = _COMPILED.get(id(layers))
    if hit is None or hit[0] is not layers:
        hit = (layers, _compile_layers(layers, path))
        _COMPILED[id(layers)] = hit
    return hit[1]


MISSING_PREFIX = "?"
_RESIDUAL = Add(type="Add")


class _Graph:
    """Where the walk is: the node the next layer reads by default, and the latest node of each name."""

    def __init__(self, inputs: Sequence[str]) -> None:
        self.last = inputs[0]
        self.named = {n: n for n in inputs}

    def reads(self, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names:
            return (self.last,)
        return tuple(self.named.get(n, MISSING_PREFIX + n) for n in names)


def unroll(
    layers: Sequence[Any],
    point: Mapping[str, Scalar],
    path: KeyPath = ("model", "layers"),
    inputs: Sequence[str] = (DEFAULT_INPUT,),
) -> list[ConcreteLayer]:
    """The layers one point builds, repeat blocks expanded and `when` applied, in graph order.

    A reference whose hyperparameter is absent from `point` resolves to None ("unknown").
    """
    out: list[ConcreteLayer] = []
    _unroll(_compiled(layers, path), point, Scope({}, (), frozenset()), out, _Graph(inputs))
    return out


def _unroll(
    nodes: tuple[_Node, ...],
    point: Mapping[str, Scalar],
    scope: Scope,
    out: list[ConcreteLayer],
    graph: _Graph,
) -> None:
    rename = scope.rename
    for node in nodes:
        if node.when and not all(point.get(rename.get(k, k), _MISSING) in v for k, v in node.when):
            continue
        if node.children:
            times = _resolve(node.times, scope, point)
            if not isinstance(times, int):
                continue
            for r in range(1, times + 1):
                inner = dict(rename)
                for name in node.names:
                    inner[name] = f"{rename.get(name, name)}_{r}"
                at = Scope(inner, (*scope.index, r), scope.conds, (*scope.counts, times))
                source = graph.last
                _unroll(node.children, point, at, out, graph)
                if node.residual:
                    _emit(
                        out,
                        graph,
                        _RESIDUAL,
                        {},
                        (*node.path, "residual"),
                        at.index,
                        (),
                        None,
                        (source, graph.last),
                    )
            continue
        given, read = node.args, node.refs[0]
        changed: tuple[tuple[str, object], ...] = ()
        if scope.index and node.first and scope.index[-1] == 1:
            given, read, changed = (*given, *node.first), (*read, *node.refs[1]), node.first
        if scope.index and node.last and scope.index[-1] == scope.counts[-1]:
            # after `first`: a single repetition is both
            given, read, changed = (*given, *node.last), (*read, *node.refs[2]), (*changed, *node.last)
        if node.wraps:
            wrapper = _concrete(node.layer, node.path, given, scope, point)
            reads = graph.reads(node.inputs)
            _emit(
                out, graph, node.layer, wrapper.args, node.path, scope.index, wrapper.refs, node.name, reads
            )
            continue
        args = dict(node.fixed)
        for k, v in (*node.dynamic, *changed):
            args[k] = _resolve(v, scope, point)
        refs = tuple(dict.fromkeys(rename.get(n, n) for n in read))
        _emit(out, graph, node.layer, args, node.path, scope.index, refs, node.name, graph.reads(node.inputs))


def _emit(
    out: list[ConcreteLayer],
    graph: _Graph,
    layer: Any,
    args: dict[str, object],
    path: KeyPath,
    index: tuple[int, ...],
    refs: tuple[str, ...],
    name: str | None,
    reads: tuple[str, ...],
) -> None:
    """One node: its id is its Keras name when named (`conv_2` in repetition 2), else a number."""
    node = (f"{name}_{'_'.join(map(str, index))}" if index else name) if name else f"#{len(out)}"
    out.append(ConcreteLayer(layer, args, path, index, refs, node, reads))
    graph.last = node
    if name:
        graph.named[name] = node


def _concrete(
    layer: LayerSpec,
    path: KeyPath,
    given: tuple[tuple[str, object], ...],
    scope: Scope,
    point: Mapping[str, Scalar],
) -> ConcreteLayer:
    """A layer that wraps another: the wrapped one (`layer:`) becomes a concrete layer of its own,
    at its key path (`model.layers.N.layer`, or `...last.layer` where `last:` gave it)."""
    args: dict[str, object] = {}
    for k, v in given:
        if isinstance(v, LayerSpec):
            at = next((p for p in ("first", "last") if (getattr(layer, p) or {}).get(k) is v), None)
            inner_path = (*path, at, k) if at else (*path, k)
            inner = tuple((a, x) for a, x in v if a not in POSITION_KEYS or a == "name")
            args[k] = _concrete(v, inner_path, inner, scope, point)
        else:
            args[k] = _resolve(v, scope, point)
    names = (scope.resolve(r.name) for _, v in given for r in refs_in(v))
    return ConcreteLayer(layer, args, path, scope.index, tuple(dict.fromkeys(names)))


_MISSING = object()


def output_nodes(layers: Sequence[ConcreteLayer], names: Sequence[str]) -> list[str]:
    """The nodes `model.outputs` names (the latest layer of each name), or the last layer's."""
    if not names:
        return [layers[-1].node] if layers else []
    latest = {c.layer.name: c.node for c in layers if c.layer.name}
    return [latest.get(n, MISSING_PREFIX + n) for n in names]
