"""Which points of the space can train: declared constraints plus the shape rules.

One definition serves the checks (feasible fraction, counterexamples) and the samplers (never
train a point known to be invalid). The space is split into independent components (linked by
conditions, shared constraints, or shapes); each is enumerated exactly when small enough and
estimated by sampling otherwise, and the fractions multiply.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ktrun.expr import EvalError, Expr, ExprError, parse
from ktrun.shapes import ShapeTrace, infer
from ktrun.space import Space, max_layers, unroll
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.layers import Dense, Embedding, Reshape, _Conv, _Layer
from ktrun.spec.refs import Scalar

ENUMERATION_LIMIT = 20_000
SAMPLES = 2_000
#: Layer-steps of shape inference one analysis may spend: big models get fewer samples.
WORK_BUDGET = 100_000
_SIZE_ARGS = {"units", "filters", "output_dim"}


@dataclass(frozen=True)
class Constraint:
    """One constraint as written (index into `constraints`) and its per-repetition instance."""

    index: int
    text: str
    expr: Expr
    names: frozenset[str]  # instance names the instance reads

    def holds(self, point: Mapping[str, Scalar]) -> bool:
        """Vacuously true when a name it reads is inactive at this point."""
        if not self.names <= point.keys():
            return True
        env = {n: point[n] for n in self.names}
        return self.expr.evaluate(env)


@dataclass
class ParsedConstraints:
    instances: list[Constraint]
    errors: list[tuple[int, ExprError]] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)


def parse_constraints(texts: Sequence[str], space: Space, declared: Iterable[str]) -> ParsedConstraints:
    """Parse each constraint; a base name used in repeat blocks applies to each repetition."""
    out = ParsedConstraints([])
    declared = set(declared)
    for i, text in enumerate(texts):
        try:
            expr = parse(text)
        except ExprError as e:
            out.errors.append((i, e))
            continue
        bad = sorted(n for n in expr.names if n not in space.params and n not in declared)
        if bad:
            out.unknown.extend((i, n) for n in bad)
            continue
        per_rep = {n: space.instances_of(n) for n in expr.names if n not in space.params}
        if not per_rep:
            out.instances.append(Constraint(i, expr.text, expr, expr.names))
            continue
        indices = sorted({p.index for ps in per_rep.values() for p in ps})
        for idx in indices:
            mapping = {n: next((p.name for p in ps if p.index == idx), None) for n, ps in per_rep.items()}
            if any(v is None for v in mapping.values()):
                continue
            names = frozenset(mapping.get(n) or n for n in expr.names)
            renamed = _rename(expr, {k: v for k, v in mapping.items() if v})
            out.instances.append(Constraint(i, renamed.text, renamed, names))
    return out


def _rename(expr: Expr, mapping: Mapping[str, str]) -> Expr:
    import re

    text = re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\b", lambda m: mapping.get(m.group(0), m.group(0)), expr.text)
    return parse(text)


# ---------------------------------------------------------------- analysis


@dataclass
class ShapeExample:
    point: dict[str, Scalar]
    trace: ShapeTrace


@dataclass
class Component:
    """Independent part of the space: its size, and the fractions (not counts) it rejects."""

    names: list[str]
    total: float  # distinct points; inf when a domain is continuous
    fraction: float  # feasible fraction
    exact: bool
    constraint_rejected: dict[int, float]
    shape_rejected: dict[str, float]


@dataclass
class Feasibility:
    """Feasible fraction of the space, and what excluded the rest."""

    components: list[Component]
    shape_examples: dict[str, ShapeExample]
    eval_errors: dict[int, str]
    reference_trace: ShapeTrace | None = None

    @property
    def total_points(self) -> float:
        return math.prod(c.total for c in self.components) if self.components else 1.0

    @property
    def fraction(self) -> float:
        return math.prod(c.fraction for c in self.components)

    @property
    def feasible_points(self) -> float:
        frac = self.fraction
        return self.total_points * frac if frac else 0.0

    @property
    def exact(self) -> bool:
        return all(c.exact for c in self.components)

    def constraint_fraction(self, index: int) -> float:
        """Fraction of the space a constraint rejects (within its own component)."""
        for c in self.components:
            if index in c.constraint_rejected:
                return c.constraint_rejected[index]
        return 0.0

    def shape_fraction(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for c in self.components:
            for code, frac in c.shape_rejected.items():
                out[code] = frac
        return out


class Checker:
    """Feasibility of single points; also what the samplers call before training anything."""

    def __init__(
        self,
        spec: ExperimentSpec,
        space: Space,
        constraints: list[Constraint],
        input_shape: Sequence[int] | None,
    ) -> None:
        self.spec = spec
        self.space = space
        self.constraints = constraints
        self.input_shape = tuple(input_shape) if input_shape else None
        self.shape_names = self._shape_names() if self.input_shape and space.analysable else set()
        self._shape_cache: dict[tuple[tuple[str, Scalar], ...], ShapeTrace] = {}
        self.n_layers = max_layers(spec.model.layers, spec.hyperparameters)

    def _shape_names(self) -> set[str]:
        has_reshape = any(isinstance(layer, Reshape) for layer in _walk(self.spec.model.layers))
        names = set()
        for u in self.space.uses:
            if u.owner in ("repeat", "when") or (
                u.arg in _shape_args(u.owner) and (u.arg not in _SIZE_ARGS or has_reshape)
            ):
                names.add(u.param)
        return self.space.ancestors(names) & set(self.space.params)

    def shape_trace(self, point: Mapping[str, Scalar]) -> ShapeTrace | None:
        if self.input_shape is None or not self.space.analysable:
            return None
        key = tuple(sorted((n, v) for n, v in point.items() if n in self.shape_names))
        trace = self._shape_cache.get(key)
        if trace is None:
            trace = infer(self.input_shape, unroll(self.spec.model.layers, point))
            if len(self._shape_cache) < 100_000:
                self._shape_cache[key] = trace
        return trace

    def violations(self, point: Mapping[str, Scalar]) -> list[str]:
        """Why a point cannot train: constraint texts and shape codes (empty when feasible)."""
        out = []
        for c in self.constraints:
            try:
                if not c.holds(point):
                    out.append(c.text)
            except EvalError:
                out.append(c.text)
        trace = self.shape_trace(point)
        if trace is not None and trace.failure is not None:
            out.append(trace.failure.code)
        return out

    def analyze(self, seed: int = 0) -> Feasibility:
        comps = _components(self.space, self.constraints, self.shape_names)
        result = Feasibility([], {}, {})
        rng = random.Random(seed)
        for names in comps:
            cons = [c for c in self.constraints if c.names & set(names)]
            with_shapes = bool(self.shape_names & set(names))
            result.components.append(self._component(names, cons, with_shapes, rng, result))
        if self.input_shape is not None and self.space.analysable and not self.shape_names:
            # No hyperparameter decides a shape: one trace decides for the whole space.
            result.components.append(self._component([], [], True, rng, result))
        if self.input_shape is not None:
            result.reference_trace = self.shape_trace(self._default_point())
        return result

    def _default_point(self) -> dict[str, Scalar]:
        rng = random.Random(0)
        return self.space.sample(rng)

    def _component(
        self,
        names: list[str],
        cons: list[Constraint],
        with_shapes: bool,
        rng: random.Random,
        result: Feasibility,
    ) -> Component:
        bound = self.space.size_bound(names)
        work = max(1, self.n_layers if with_shapes else 1)
        exact = bound <= ENUMERATION_LIMIT and bound * work <= WORK_BUDGET
        samples = int(min(SAMPLES, max(200, WORK_BUDGET // work)))
        if not cons and not with_shapes:  # nothing to reject: the fraction is exactly 1
            total = float(sum(1 for _ in self.space.enumerate(names))) if exact else bound
            return Component(names, total, 1.0, True, {}, {})
        points: Iterable[dict[str, Scalar]] = (
            self.space.enumerate(names)
            if exact
            else (self.space.sample(rng, set(names)) for _ in range(samples))
        )
        n = ok = 0
        c_rej: dict[int, float] = {c.index: 0.0 for c in cons}
        s_rej: dict[str, float] = {}
        for point in points:
            n += 1
            good = True
            for c in cons:
                try:
                    holds = c.holds(point)
                except EvalError as e:
                    result.eval_errors.setdefault(c.index, f"{c.text}: {e}")
                    holds = False
                if not holds:
                    c_rej[c.index] += 1
                    good = False
            if with_shapes:
                trace = self.shape_trace(point)
                if trace is not None and trace.failure is not None:
                    code = trace.failure.code
                    s_rej[code] = s_rej.get(code, 0) + 1
                    result.shape_examples.setdefault(code, ShapeExample(dict(point), trace))
                    good = False
            ok += good
        n = max(n, 1)
        return Component(
            names,
            float(n) if exact else bound,
            ok / n,
            exact,
            {k: v / n for k, v in c_rej.items()},
            {k: v / n for k, v in s_rej.items()},
        )


def _walk(layers: Sequence[object]) -> Iterable[object]:
    for layer in layers:
        yield layer
        inner = getattr(layer, "layers", None)
        if isinstance(inner, list):
            yield from _walk(inner)


_SHAPE_ARGS: dict[str, tuple[str, ...]] = {}


def _shape_args(owner: str) -> tuple[str, ...]:
    if not _SHAPE_ARGS:
        from ktrun.spec import layers as L

        for cls in vars(L).values():
            if isinstance(cls, type) and issubclass(cls, _Layer) and "type" in cls.model_fields:
                for tag in cls.model_fields["type"].annotation.__args__:  # type: ignore[union-attr]
                    _SHAPE_ARGS[tag] = cls.shape_args
    return _SHAPE_ARGS.get(owner, ())


def _components(space: Space, cons: list[Constraint], shape_names: set[str]) -> list[list[str]]:
    parent = {n: n for n in space.params}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(group: Iterable[str]) -> None:
        group = [g for g in group if g in parent]
        for g in group[1:]:
            parent[find(g)] = find(group[0])

    for p in space.params.values():
        union([p.name, *(c.parent for c in p.conditions)])
    for c in cons:
        union(space.ancestors(set(c.names)))
    union(sorted(shape_names))
    groups: dict[str, list[str]] = {}
    for n in space.order:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


__all__ = [
    "Checker",
    "Constraint",
    "Dense",
    "Embedding",
    "Feasibility",
    "_Conv",
    "parse_constraints",
]
