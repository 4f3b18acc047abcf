"""Which points of the space can train: declared constraints plus the shape rules.

One definition serves the checks (feasible fraction, counterexamples) and the samplers (never
train a point known to be invalid). The space is split into independent components (linked by
conditions, shared constraints, or shapes); each is enumerated exactly when small enough and
estimated by sampling otherwise, and the fractions multiply.

Sampling alone cannot tell "tiny" from "empty": six widths that must shrink layer to layer keep
0.5% of their points, and a few such constraints together leave a fraction no random sample
hits. For those, the space is walked as a search tree (hyperparameters in order, each
constraint checked as soon as its last name is decided): Knuth's random probes estimate the
fraction, and a randomised depth-first search finds a feasible point or proves there is none.
The samplers use the same search when rejection sampling keeps missing.

One module of about 480 lines on purpose: the component analysis and the tree search are two
halves of one `Checker`, and both read its parsed constraints, shape names and candidate tables.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ktrun.analysis.expressions import EvalError, Expr, ExprError, parse
from ktrun.analysis.shapes import ShapeTrace, infer
from ktrun.analysis.space import Space, max_layers
from ktrun.analysis.unroll import unroll
from ktrun.analysis.values import sample as space_sample
from ktrun.layers import REGISTRY, LayerSpec, Repeat, iter_layers
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.refs import Scalar

ENUMERATION_LIMIT = 20_000
SAMPLES = 2_000
#: Below this many feasible samples, the tree estimator and the solver take over.
MIN_HITS = 20
PROBES = 200
#: Samples after which a component that is still (almost) never feasible goes to the tree.
EARLY_SAMPLES = 500
#: Assignments one depth-first search may try before it gives up (undecided, not "empty").
SOLVE_BUDGET = 50_000
#: Values one search-tree level tries: all of a finite domain up to this, else a random subset.
CANDIDATES = 64
#: Layer-steps of shape inference one analysis may spend: big models get fewer samples.
WORK_BUDGET = 100_000


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
    """Parse each constraint; a base name used in repeat blocks applies to each repetition. The
    constraints dependent bounds imply follow, numbered from `len(texts)`."""
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
    for k, (bound, text) in enumerate(space.implied):  # after the declared ones: numbered on
        try:
            expr = parse(text)
        except ExprError:  # pragma: no cover - built from a bound that parsed
            continue
        names = frozenset({bound.param, *bound.reads.values()})
        out.instances.append(Constraint(len(texts) + k, expr.text, expr, names))
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
    """Independent part of the space: its size, and the fractions (not counts) it rejects.

    Constraints are rated against all its points; shapes only against the points the constraints
    allow (a point a constraint rejects is never built, so its shape cannot fail a search)."""

    names: list[str]
    total: float  # distinct points; inf when a domain is continuous
    fraction: float  # feasible fraction
    exact: bool
    constraint_rejected: dict[int, float]
    shape_rejected: dict[str, float]
    #: True: a feasible point is known; False: proven empty; None: none found, not proven.
    satisfiable: bool | None = True
    #: Fraction of its points that every constraint allows (shapes aside).
    allowed: float = 1.0


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
    def allowed_points(self) -> float:
        """Points every constraint allows, shapes aside: what a shape fraction is a fraction of."""
        return math.prod(c.total * c.allowed for c in self.components) if self.components else 1.0

    @property
    def exact(self) -> bool:
        return all(c.exact for c in self.components)

    @property
    def satisfiable(self) -> bool | None:
        """False when some component is proven empty; None when one is undecided."""
        states = [c.satisfiable for c in self.components]
        return False if False in states else None if None in states else True

    def constraint_fraction(self, index: int) -> float:
        """Fraction of the space a constraint rejects (within its own component)."""
        for c in self.components:
            if index in c.constraint_rejected:
                return c.constraint_rejected[index]
        return 0.0

    def shape_fraction(self) -> dict[str, float]:
        """Fraction of the points the constraints allow that each shape failure excludes."""
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
        input_shapes: Mapping[str, Sequence[int]] | None,
    ) -> None:
        self.spec = spec
        self.space = space
        self.constraints = constraints
        self.input_shapes = {k: tuple(v) for k, v in input_shapes.items()} if input_shapes else None
        self.input_shape = next(iter(self.input_shapes.values())) if self.input_shapes else None
        self.shape_names = self._shape_names() if self.input_shape and space.analysable else set()
        self._shape_cache: dict[tuple[tuple[str, Scalar], ...], ShapeTrace] = {}
        self.n_layers = max_layers(spec.model.layers, spec.hyperparameters)

    def _shape_names(self) -> set[str]:
        """What decides shapes: repeat counts, conditions, and the layers' shape arguments.

        A size argument (Dense units) only decides something when a layer that reads sizes
        (Reshape) is in the model; leaving it out elsewhere keeps the enumeration small.
        """
        sizes_read = any(
            (isinstance(layer, LayerSpec) and REGISTRY[layer.type].reads_sizes)
            or (isinstance(layer, LayerSpec) and REGISTRY[layer.type].merge is not None)
            or (isinstance(layer, Repeat) and layer.residual)
            for _, layer in iter_layers(self.spec.model.layers)
        )
        written = dict(iter_layers(self.spec.model.layers))
        names = set()
        for u in self.space.uses:
            kind = REGISTRY.get(u.owner)
            layer = written.get(u.path[:-1])  # the layer whose argument this is (not a `first:`)
            if kind is not None and layer is not None and u.arg in kind.inert(layer):
                continue
            if u.owner in ("repeat", "when") or (
                kind is not None and u.arg in kind.shape_args and (u.arg not in kind.size_args or sizes_read)
            ):
                names.add(u.param)
        return self.space.ancestors(names) & set(self.space.params)

    def shape_trace(self, point: Mapping[str, Scalar]) -> ShapeTrace | None:
        if self.input_shape is None or not self.space.analysable:
            return None
        key = tuple(sorted((n, v) for n, v in point.items() if n in self.shape_names))
        trace = self._shape_cache.get(key)
        if trace is None:
            model = self.spec.model
            layers = unroll(model.layers, point, inputs=model.input_names)
            trace = infer(self.input_shape, layers, self.input_shapes)
            if len(self._shape_cache) < 100_000:
                self._shape_cache[key] = trace
        return trace

    def unmet(self, point: Mapping[str, Scalar]) -> list[str]:
        """The constraints a point breaks (one it cannot be evaluated at counts as broken)."""
        out = []
        for c in self.constraints:
            try:
                if not c.holds(point):
                    out.append(c.text)
            except EvalError:
                out.append(c.text)
        return out

    def violations(self, point: Mapping[str, Scalar]) -> list[str]:
        """Why a point cannot train: constraint texts and shape codes (empty when feasible)."""
        out = self.unmet(point)
        trace = self.shape_trace(point)
        if trace is not None and trace.failure is not None:
            out.append(trace.failure.code)
        return out

    # ------------------------------------------------------------ the space as a search tree

    def tree(
        self,
        names: Sequence[str] | None = None,
        cons: Sequence[Constraint] | None = None,
        with_shapes: bool = True,
    ) -> SearchTree:
        """`names` in order (all by default), each check placed at the depth its names are decided."""
        order = [n for n in self.space.order if names is None or n in set(names)]
        depth = {n: i for i, n in enumerate(order)}
        checks: list[list[Constraint]] = [[] for _ in order]
        for c in self.constraints if cons is None else cons:
            known = [depth[n] for n in c.names if n in depth]
            if known:
                checks[max(known)].append(c)
        shaped = [depth[n] for n in self.shape_names if n in depth] if with_shapes else []
        return SearchTree(order, checks, max(shaped) if shaped else None)

    def _passes(self, tree: SearchTree, depth: int, point: Mapping[str, Scalar]) -> bool:
        for c in tree.checks[depth]:
            try:
                if not c.holds(point):
                    return False
            except EvalError:
                return False
        if depth == tree.shape_depth:
            trace = self.shape_trace(point)
            return trace is None or trace.failure is None
        return True

    def _candidates(self, name: str, rng: random.Random) -> tuple[list[Scalar], bool]:
        """Values to try at this level, shuffled, and whether they are the whole domain."""
        param = self.space.params[name]
        vals = param.values
        if vals is not None and len(vals) <= CANDIDATES:
            out = list(vals)
            rng.shuffle(out)
            return out, True
        if vals is not None:
            return rng.sample(list(vals), CANDIDATES), False
        return [space_sample(param.decl, rng) for _ in range(CANDIDATES)], False

    def probe(self, tree: SearchTree, rng: random.Random) -> tuple[float, dict[str, Scalar] | None]:
        """One random root-to-leaf walk: (product of the pass ratios, the point if it got there).

        The mean weight over many probes is an unbiased estimate of the feasible fraction
        (Knuth, 1975), however small, at the cost of one level's candidates per step.
        """
        point: dict[str, Scalar] = {}
        weight = 1.0
        for depth, name in enumerate(tree.names):
            if not self.space.is_active(name, point):
                if not self._passes(tree, depth, point):
                    return 0.0, None
                continue
            cands, _ = self._candidates(name, rng)
            good = []
            for v in cands:
                point[name] = v
                if self._passes(tree, depth, point):
                    good.append(v)
            if not good:
                return 0.0, None
            weight *= len(good) / len(cands)
            point[name] = rng.choice(good)
        return weight, point

    def solve(
        self, tree: SearchTree, rng: random.Random, budget: int = SOLVE_BUDGET
    ) -> tuple[dict[str, Scalar] | None, bool]:
        """Randomised depth-first search: (a feasible point or None, whether None is a proof)."""
        point: dict[str, Scalar] = {}
        state = {"nodes": 0, "complete": True}

        def rec(depth: int) -> bool:
            if depth == len(tree.names):
                return True
            name = tree.names[depth]
            if not self.space.is_active(name, point):
                return self._passes(tree, depth, point) and rec(depth + 1)
            cands, whole = self._candidates(name, rng)
            state["complete"] = state["complete"] and whole
            for v in cands:
                state["nodes"] += 1
                if state["nodes"] > budget:
                    raise _OutOfBudget
                point[name] = v
                if self._passes(tree, depth, point) and rec(depth + 1):
                    return True
            del point[name]
            return False

        try:
            found = rec(0)
        except _OutOfBudget:
            return None, False
        return (dict(point), False) if found else (None, bool(state["complete"]))

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
        n = ok = allowed = 0
        c_rej: dict[int, float] = {c.index: 0.0 for c in cons}
        s_rej: dict[str, float] = {}
        for point in points:
            if not exact and n == EARLY_SAMPLES and ok < MIN_HITS // 4:
                break  # enough to rate each constraint; the tree estimates the fraction
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
            allowed += good
            if with_shapes and good:
                trace = self.shape_trace(point)
                if trace is not None and trace.failure is not None:
                    code = trace.failure.code
                    s_rej[code] = s_rej.get(code, 0) + 1
                    result.shape_examples.setdefault(code, ShapeExample(dict(point), trace))
                    good = False
            ok += good
        n = max(n, 1)
        comp = Component(
            names,
            float(n) if exact else bound,
            ok / n,
            exact,
            {k: v / n for k, v in c_rej.items()},
            {k: v / max(allowed, 1) for k, v in s_rej.items()},
            ok > 0 if exact else True,
            allowed / n,
        )
        if not exact and ok < MIN_HITS:
            self._refine(comp, cons, with_shapes, rng, n)
        return comp

    def _refine(
        self, comp: Component, cons: list[Constraint], with_shapes: bool, rng: random.Random, n: int
    ) -> None:
        """Few or no samples were feasible: estimate on the search tree, and decide emptiness."""
        tree = self.tree(comp.names, cons, with_shapes)
        probes = [self.probe(tree, rng) for _ in range(PROBES)]
        comp.fraction = sum(w for w, _ in probes) / PROBES
        witness = next((p for _, p in probes if p is not None), None)
        proven = False
        if witness is None:
            witness, proven = self.solve(tree, rng)
        comp.satisfiable = True if witness is not None else False if proven else None
        # A part that rejected every sample is not known to reject everything: unless a search
        # proves it, say "almost all" and leave the verdict to the joint result above.
        almost = n / (n + 1)
        for c in cons:
            if comp.constraint_rejected.get(c.index, 0.0) >= 1.0 and (
                witness is not None or not self.solve(self.tree(comp.names, [c], False), rng)[1]
            ):
                comp.constraint_rejected[c.index] = almost
        if sum(comp.shape_rejected.values()) >= 1.0 and (
            witness is not None or not self.solve(self.tree(comp.names, [], with_shapes), rng)[1]
        ):
            comp.shape_rejected = {k: v * almost for k, v in comp.shape_rejected.items()}


@dataclass(frozen=True)
class SearchTree:
    """Hyperparameters in order; `checks[d]` are the constraints decided at depth `d`."""

    names: list[str]
    checks: list[list[Constraint]]
    shape_depth: int | None


class _OutOfBudget(Exception):
    pass


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
    "Feasibility",
    "parse_constraints",
]
