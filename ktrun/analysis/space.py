"""The search space as Keras Tuner will see it: declared hyperparameters expanded into instances.

A hyperparameter used inside a `repeat` block becomes one instance per repetition (`filters` →
`filters_1`, `filters_2`), active only when the repeat count reaches it; conditions (`when`)
become parent links. Everything here is plain Python so that checks, the sampler and the
compiler share one definition of "which values exist" and "which point is active".
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ktrun import problems as pb
from ktrun.analysis.bounds import Bound, Holder, resolve, widest_of
from ktrun.analysis.expressions import Expr, parse_cached
from ktrun.analysis.values import (
    bounds,
    cardinality,
    iter_values,
    matching,
    sample,
    values,
)
from ktrun.config.provenance import KeyPath
from ktrun.layers import LayerSpec, Repeat
from ktrun.problems import Problem
from ktrun.spec.base import Strict
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.hyperparameters import FixedHp, Hyperparameter
from ktrun.spec.refs import HpExpr, HpRef, Scalar

# ---------------------------------------------------------------- the expanded space


@dataclass(frozen=True)
class Cond:
    """Active only when `parent` is active and has one of `values`."""

    parent: str
    values: tuple[Scalar, ...]

    def __str__(self) -> str:
        return f"{self.parent} in {list(self.values)}"


@dataclass(frozen=True)
class Param:
    """One Keras Tuner hyperparameter: a declaration, or one repetition's instance of it."""

    name: str
    base: str
    decl: Hyperparameter
    conditions: tuple[Cond, ...] = ()
    index: tuple[int, ...] = ()

    @cached_property
    def values(self) -> tuple[Scalar, ...] | None:
        return values(self.decl)

    @cached_property
    def cardinality(self) -> int | None:
        return cardinality(self.decl)


@dataclass(frozen=True)
class Use:
    """One place a hyperparameter feeds: a layer argument, an optimizer or fit setting."""

    path: KeyPath
    ref: str  # as written
    param: str  # instance it resolves to
    arg: str
    owner: str  # "Conv2D", "optimizer", "loss", "metric", "fit", "repeat", "when"
    conditions: frozenset[Cond] = frozenset()


@dataclass
class Space:
    params: dict[str, Param]
    uses: list[Use]
    problems: list[Problem] = field(default_factory=list)
    #: False when the model is too large to expand; shape and feasibility analysis are skipped.
    analysable: bool = True
    #: Dependent bounds and their implied constraints (`units_2 <= units_1`).
    implied: list[tuple[Bound, str]] = field(default_factory=list)
    #: Each declared name's widest range over its instances (dependent bounds resolved): what
    #: a check of the declaration, or of where a `$name` feeds, reads.
    declared: dict[str, Hyperparameter] = field(default_factory=dict)

    @cached_property
    def order(self) -> list[str]:
        """Parents before children (names in a condition cycle are left out; checks report it)."""
        done: list[str] = []
        seen: set[str] = set()
        visiting: set[str] = set()

        def visit(name: str) -> bool:
            if name in seen:
                return True
            if name in visiting or name not in self.params:
                return False
            visiting.add(name)
            ok = all(visit(c.parent) for c in self.params[name].conditions)
            visiting.discard(name)
            if ok:
                seen.add(name)
                done.append(name)
            return ok

        for name in self.params:
            visit(name)
        return done

    def is_active(self, name: str, point: Mapping[str, Scalar]) -> bool:
        return all(c.parent in point and point[c.parent] in c.values for c in self.params[name].conditions)

    def ancestors(self, names: set[str]) -> set[str]:
        out, todo = set(names), list(names)
        while todo:
            p = self.params.get(todo.pop())
            for c in p.conditions if p else ():
                if c.parent not in out:
                    out.add(c.parent)
                    todo.append(c.parent)
        return out

    def sample(self, rng: random.Random, names: set[str] | None = None) -> dict[str, Scalar]:
        """A random point (inactive hyperparameters absent), over `names` or the whole space."""
        point: dict[str, Scalar] = {}
        for name in self.order:
            if (names is None or name in names) and self.is_active(name, point):
                point[name] = sample(self.params[name].decl, rng)
        return point

    def enumerate(self, names: Sequence[str]) -> Iterator[dict[str, Scalar]]:
        """Every distinct point over `names` (finite domains only; parents must be included)."""
        ordered = [n for n in self.order if n in set(names)]

        def rec(i: int, point: dict[str, Scalar]) -> Iterator[dict[str, Scalar]]:
            if i == len(ordered):
                yield dict(point)
                return
            name = ordered[i]
            if not self.is_active(name, point):
                yield from rec(i + 1, point)
                return
            for v in iter_values(self.params[name].decl):
                point[name] = v
                yield from rec(i + 1, point)
            point.pop(name, None)

        yield from rec(0, {})

    def size_bound(self, names: Sequence[str]) -> float:
        """Upper bound on the number of points (inf when a domain is continuous)."""
        total = 1.0
        for n in names:
            c = self.params[n].cardinality
            total *= math.inf if c is None else max(c, 1)
        return total

    def instances_of(self, base: str) -> list[Param]:
        """Per-repetition instances of a declared name (empty when it is not in a repeat block)."""
        return [p for p in self.params.values() if p.base == base and p.index]


# ---------------------------------------------------------------- expansion from the spec


@dataclass(frozen=True)
class Scope:
    """Inside repeat blocks: how base names map to instance names, and the conditions in force."""

    rename: Mapping[str, str]
    index: tuple[int, ...]
    conds: frozenset[Cond]
    #: The repeat count of each enclosing block at one point (unroll only), for `first`/`last`.
    counts: tuple[int, ...] = ()

    def resolve(self, name: str) -> str:
        return self.rename.get(name, name)


def block_names(layers: Sequence[Any]) -> set[str]:
    """Every hyperparameter name a list of layers uses (references and `when` keys), deeply."""
    out: set[str] = set()
    for layer in layers:
        out.update((layer.when or {}).keys())
        if isinstance(layer, Repeat):
            if isinstance(layer.times, HpRef):
                out.add(layer.times.name)
            out |= block_names(layer.layers)
            continue
        for _, value in layer:
            for r in refs_in(value):
                out.add(r.name)
    return out


def refs_in(value: object) -> list[HpRef]:
    """The references in an argument: itself, the names an expression reads, a list's items, or a
    section's keys (a regularizer's `{l2: $l2}`, a wrapped layer's arguments)."""
    if isinstance(value, HpRef):
        return [value]
    if isinstance(value, HpExpr):
        expr = parse_cached(value.text)
        return [HpRef(n) for n in sorted(expr.names)] if expr is not None else []
    if isinstance(value, list):
        return [r for x in value for r in refs_in(x)]
    if isinstance(value, Strict):
        return [r for _, v in value for r in refs_in(v)]
    if isinstance(value, dict):  # a layer's `first:` / `last:` arguments
        return [r for v in value.values() for r in refs_in(v)]
    return []


class _Expander:
    def __init__(self, spec: ExperimentSpec) -> None:
        self.spec = spec
        self.decls = spec.hyperparameters
        self.uses: list[Use] = []
        self.instances: dict[str, tuple[str, tuple[int, ...], Scope]] = {}
        self.problems: list[Problem] = []
        self.block_of: dict[str, KeyPath] = {}
        self.expand = True

    def _values_of(self, name: str) -> tuple[Scalar, ...] | None:
        base = self.instances.get(name, (name,))[0]
        decl = self.decls.get(base)
        return values(decl) if decl is not None else None

    def _when(self, when: Mapping[str, list[Scalar]] | None, scope: Scope) -> frozenset[Cond]:
        return frozenset(Cond(scope.resolve(k), tuple(v)) for k, v in (when or {}).items())

    def use(self, path: KeyPath, ref: HpRef, arg: str, owner: str, scope: Scope) -> None:
        name = scope.resolve(ref.name)
        if name != ref.name:
            self.instances.setdefault(name, (ref.name, scope.index, scope))
        self.uses.append(Use(path, ref.name, name, arg, owner, scope.conds))

    def layers(self, layers: Sequence[Any], path: KeyPath, scope: Scope) -> None:
        for i, layer in enumerate(layers):
            lpath = (*path, i)
            conds = scope.conds | self._when(layer.when, scope)
            for key in layer.when or {}:
                self.use((*lpath, "when", key), HpRef(key), "when", "when", scope)
            inner = Scope(scope.rename, scope.index, conds)
            if isinstance(layer, Repeat):
                self.repeat(layer, lpath, inner)
                continue
            self.arguments(layer, lpath, inner)

    def arguments(self, layer: LayerSpec, lpath: KeyPath, scope: Scope) -> None:
        """A layer's references, each a use of its own argument; a wrapped layer's (`layer:`)
        are uses of that layer's arguments, at its key path."""
        for arg, value in layer:
            if arg in ("first", "last") and value:  # by the argument it changes
                for key, v in value.items():
                    if isinstance(v, LayerSpec):
                        self.arguments(v, (*lpath, arg, key), scope)
                        continue
                    for r in refs_in(v):
                        self.use((*lpath, arg, key), r, key, layer.type, scope)
                continue
            if isinstance(value, LayerSpec):
                self.arguments(value, (*lpath, arg), scope)
                continue
            for r in refs_in(value):
                self.use((*lpath, arg), r, arg, layer.type, scope)

    def _counts(self, block: Repeat, path: KeyPath, scope: Scope) -> tuple[str, list[tuple[Scalar, int]]]:
        """The hyperparameter a repeat count reads ("" for a literal) and, for each value it
        takes, the count: itself for `$n`, the expression's value for `"n - 2"`."""
        times = block.times
        if isinstance(times, int):
            return "", [(times, times)]
        ref, expr = (times, None) if isinstance(times, HpRef) else (None, parse_cached(times.text))
        if expr is not None:
            if not expr.names:  # a constant: one count, none if it has no whole value (checks say why)
                return "", _counts_of(expr, (0,))
            if len(expr.names) > 1:
                self.problems.append(
                    pb.error(
                        "arg-expression-invalid",
                        (*path, "times"),
                        f"the repeat count `{times}` reads {', '.join(sorted(expr.names))}; a "
                        "computed count may read one hyperparameter (its repetitions are active by "
                        "that one's values)",
                        "compute the count from one hyperparameter, or declare the count itself",
                    )
                )
                return "", []
            ref = HpRef(next(iter(expr.names)))
        if ref is None:
            return "", []  # does not parse: checks report it
        self.use((*path, "times"), ref, "times", "repeat", scope)
        t_name = scope.resolve(ref.name)
        # empty: not a finite integer domain, which checks report
        return t_name, _counts_of(expr, self._values_of(t_name) or ())

    def repeat(self, block: Repeat, path: KeyPath, scope: Scope) -> None:
        t_name, counts = self._counts(block, path, scope)
        if not counts:
            return
        times = [t for _, t in counts]
        if not self.expand:
            self.layers(block.layers, (*path, "layers"), scope)
            return
        names = block_names(block.layers) - set(block.shared)
        for name in names:
            other = self.block_of.get(name)
            nested = other is not None and (other[: len(path)] == path or path[: len(other)] == other)
            if other is not None and not nested:
                self.problems.append(
                    pb.error(
                        "hp-in-two-repeats",
                        (*path, "layers"),
                        f"`{name}` is used inside two repeat blocks, so its per-repetition instances "
                        f"would collide",
                        "declare one hyperparameter per block (e.g. `conv_filters`, `dense_units`), "
                        "or list it in `shared` of both blocks to keep one value",
                    )
                )
            self.block_of.setdefault(name, path)
        for i in range(1, max(times, default=0) + 1):
            conds = set(scope.conds)
            allowed = tuple(v for v, t in counts if t >= i)
            if t_name and len(allowed) < len(counts):
                conds.add(Cond(t_name, allowed))
            rename = dict(scope.rename)
            for name in names:
                rename[name] = f"{scope.resolve(name)}_{i}"
            inner = Scope(rename, (*scope.index, i), frozenset(conds))
            self.layers(block.layers, (*path, "layers"), inner)


def _counts_of(expr: Expr | None, values_: Iterable[Scalar]) -> list[tuple[Scalar, int]]:
    """For each value of the hyperparameter a repeat count reads, the count: the value itself
    (`$n`), or the expression of it (`"n - 2"`); values that give no whole number are left out."""
    out: list[tuple[Scalar, int]] = []
    for v in values_:
        count = v if expr is None else expr.value_or_none(dict.fromkeys(expr.names, v))
        if isinstance(count, int) and not isinstance(count, bool):
            out.append((v, count))
    return out


def max_layers(layers: Sequence[Any], decls: Mapping[str, Hyperparameter]) -> int:
    """The most layers any point can build (repeat counts at their maximum), without expanding."""
    total = 0
    for layer in layers:
        if not isinstance(layer, Repeat):
            total += 1
            continue
        times = layer.times
        if isinstance(times, HpExpr):  # its largest value over what it reads, where that is finite
            expr = parse_cached(times.text)
            decl = decls.get(next(iter(expr.names))) if expr is not None and len(expr.names) == 1 else None
            vals = values(decl) if decl is not None else (0,) if expr is not None and not expr.names else None
            times = max((t for _, t in _counts_of(expr, vals or ())), default=1) if expr else 1
        elif isinstance(times, HpRef):
            decl = decls.get(times.name)
            b = bounds(decl) if decl is not None else None
            times = int(b[1]) if b is not None else 1
        total += max(int(times), 0) * max_layers(layer.layers, decls)
        if total > MAX_LAYERS:
            return total
    return total


#: A model that can unroll to more layers than this is refused before expansion (a typo such as
#: `times: 1000`, or nested repeats, would otherwise make checks and builds crawl).
MAX_LAYERS = 500


def build_space(spec: ExperimentSpec) -> Space:
    """Expand declarations and uses into the instances Keras Tuner will register."""
    ex = _Expander(spec)
    root = Scope({}, (), frozenset())
    n_layers = max_layers(spec.model.layers, spec.hyperparameters)
    if n_layers > MAX_LAYERS:
        problem = pb.error(
            "model-too-large",
            ("model", "layers"),
            f"the layers can unroll to {n_layers:,} or more layers (repeat counts at their maximum);"
            f" ktrun builds at most {MAX_LAYERS}",
            "lower the repeat counts (`times`) or un-nest repeat blocks",
        )
        ex.expand = False  # still collect references once per block, for the other checks
        ex.layers(spec.model.layers, ("model", "layers"), root)
        return Space({}, ex.uses, [problem], analysable=False, declared=dict(spec.hyperparameters))
    ex.layers(spec.model.layers, ("model", "layers"), root)
    opt = spec.model.compile.optimizer
    given: list[tuple[tuple[str, ...], object]] = [(("name",), opt.name)]
    given += [((arg,), v) for arg, v in opt.arguments().items()]
    for which, args in opt.per_optimizer.items():  # one optimizer's own, at their own paths
        given += [(("per_optimizer", which, arg), v) for arg, v in args.arguments().items()]
    for keys, value in given:
        keyed = (
            [((*keys, k), k, v) for k, v in value] if isinstance(value, Strict) else [(keys, keys[-1], value)]
        )
        for path, name, v in keyed:  # a schedule's keys each at their own path
            for r in refs_in(v):
                ex.use(("model", "compile", "optimizer", *path), r, name, "optimizer", root)
    for arg, value in spec.model.compile.loss.arguments().items():
        for r in refs_in(value):
            ex.use(("model", "compile", "loss", arg), r, arg, "loss", root)
    for i, metric in enumerate(spec.model.compile.metrics):
        for arg, value in metric.arguments().items():
            for r in refs_in(value):
                ex.use(("model", "compile", "metrics", i, arg), r, arg, "metric", root)
    for arg in ("epochs", "batch_size", "shuffle", "class_weight"):
        for r in refs_in(getattr(spec.fit, arg)):
            ex.use(("fit", arg), r, arg, "fit", root)
    if spec.model.hypermodel is not None:  # its build reads each hyperparameter of its table
        for name in spec.model.hypermodel.kind.hyperparameters:
            ex.use(("model", "hypermodel"), HpRef(name), name, "hypermodel", root)

    instanced_bases = {base for base, _, _ in ex.instances.values()}
    by_param: dict[str, list[Use]] = {}
    for u in ex.uses:
        by_param.setdefault(u.param, []).append(u)

    params: dict[str, Param] = {}
    scopes: dict[str, Scope] = {}
    for base, decl in spec.hyperparameters.items():
        if base in instanced_bases:
            direct = [u for u in by_param.get(base, []) if u.owner != "when"]
            if direct:
                ex.problems.append(
                    pb.error(
                        "hp-mixed-repeat-use",
                        direct[0].path,
                        f"`{base}` is used both inside a repeat block (one instance per repetition) "
                        f"and outside it",
                        f"list `{base}` in the block's `shared` to keep one value everywhere, or "
                        f"declare a separate hyperparameter for the use outside the block",
                    )
                )
            continue
        params[base] = _param(base, base, decl, (), root, by_param.get(base, []))
        scopes[base] = root
    for name, (base, index, scope) in ex.instances.items():
        if base in spec.hyperparameters:
            params[name] = _param(
                name, base, spec.hyperparameters[base], index, scope, by_param.get(name, [])
            )
            scopes[name] = scope
    implied = _bounds(params, scopes, by_param, ex)
    _pin(spec, params, ex.problems)
    declared = {
        base: widest_of([p.decl for p in params.values() if p.base == base] or [decl])
        for base, decl in spec.hyperparameters.items()
    }
    return Space(params, ex.uses, ex.problems, implied=implied, declared=declared)


def _bounds(
    params: dict[str, Param], scopes: Mapping[str, Scope], by_param: dict[str, list[Use]], ex: _Expander
) -> list[tuple[Bound, str]]:
    """Dependent bounds: each parameter's widest range, and the parameters a bound reads are
    used wherever the bound's own parameter is active (their conditions follow; see `_param`)."""
    holders = {
        n: Holder(n, p.base, p.decl, scopes[n].rename, p.index[-1] if p.index else None)
        for n, p in params.items()
    }
    per_rep: dict[str, list[str]] = {}
    for p in params.values():
        if p.index:
            per_rep.setdefault(p.base, []).append(p.name)
    res = resolve(holders, per_rep)
    ex.problems.extend(res.problems)
    implied = res.constraints
    for n, p in params.items():
        params[n] = Param(n, p.base, res.decls[n], p.conditions, p.index)
    extra: dict[str, list[Use]] = {}
    for _ in range(len(params) + 1):  # conditions flow from a bound's parameter to what it reads
        changed = False
        extra = {}
        for b, _text in implied:
            conds = frozenset(params[b.param].conditions)
            for r in b.reads.values():
                extra.setdefault(r, []).append(Use(b.path, params[r].base, r, b.side, "bound", conds))
        for r, uses in extra.items():
            p = params[r]
            again = _param(r, p.base, p.decl, p.index, scopes[r], by_param.get(r, []) + uses)
            if again.conditions != p.conditions:
                params[r], changed = again, True
        if not changed:
            break
    ex.uses.extend(u for us in extra.values() for u in us)
    for b, _ in implied:
        for r in b.reads.values():
            missing = _not_implied(params, params[b.param], params[r])
            if missing is not None:
                ex.problems.append(
                    pb.error(
                        "bound-inactive-reference",
                        b.path,
                        f"the {b.side} of `{b.param}` reads `{r}`, which is inactive when {missing} "
                        f"while `{b.param}` is active: the bound would have no value",
                        f"give `{b.param}` the same `when:` as `{params[r].base}`, or read a "
                        "hyperparameter that is active wherever it is",
                    )
                )
    return implied


def _not_implied(params: Mapping[str, Param], p: Param, r: Param) -> Cond | None:
    """A condition of `r` that `p` being active does not guarantee (None: `r` is active too)."""
    closed, todo = set(p.conditions), list(p.conditions)
    while todo:
        parent = params.get(todo.pop().parent)
        for c in parent.conditions if parent else ():
            if c not in closed:
                closed.add(c)
                todo.append(c)
    for c in r.conditions:
        if not any(k.parent == c.parent and set(k.values) <= set(c.values) for k in closed):
            return c
    return None


def _pin(spec: ExperimentSpec, params: dict[str, Param], problems: list[Problem]) -> None:
    """`pin: {units_1: 128}`: that hyperparameter becomes Fixed, if the value is one it can take."""
    for name, value in spec.pin.items():
        at = ("pin", name)
        param = params.get(name)
        if param is None:
            problems.append(
                pb.error(
                    "unknown-reference",
                    at,
                    f"pin `{name}` names no hyperparameter of this search",
                    f"pin one of: {', '.join(params) or 'none'}",
                )
            )
            continue
        vals = param.values
        lo_hi = bounds(param.decl)
        found = domain_value(param, value)
        if found is None:
            domain = f"{list(vals)[:8]}" if vals is not None else f"{lo_hi[0]}..{lo_hi[1]}" if lo_hi else "?"
            problems.append(
                pb.error(
                    "pin-value-invalid",
                    at,
                    f"pin {name}={value!r} is not a value `{name}` can take",
                    f"pick one of {domain}",
                )
            )
            continue
        params[name] = Param(
            name, param.base, FixedHp(type="fixed", value=found), param.conditions, param.index
        )


def domain_value(param: Param, value: Scalar) -> Scalar | None:
    """The value of `param`'s domain that `value` is (a typed 0.30000000000000004 is the listed
    0.3, see `values.matching`), or None when it can take no such value."""
    vals = param.values
    if vals is not None:
        return matching(vals, value)
    lo_hi = bounds(param.decl)
    if lo_hi is None or not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return value if lo_hi[0] <= value <= lo_hi[1] else None  # type: ignore[operator]


def _param(
    name: str,
    base: str,
    decl: Hyperparameter,
    index: tuple[int, ...],
    scope: Scope,
    uses: list[Use],
) -> Param:
    own = {Cond(scope.resolve(k), tuple(v)) for k, v in (decl.when or {}).items()}
    # Active wherever any use is (a layer's `when:` reads it too: one used only there, inside a
    # repeat, is tied to the repeat count like any other instance).
    common = frozenset.intersection(*(u.conditions for u in uses)) if uses else frozenset()
    conds = tuple(sorted(own | set(common), key=lambda c: c.parent))
    return Param(name, base, decl, conds, index)


__all__ = ["Cond", "Param", "Space", "Use", "build_space", "domain_value"]
