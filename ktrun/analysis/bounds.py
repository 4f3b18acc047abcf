"""Dependent bounds: `max: $units_1`, `max: "units_1 // 2"`, `min: "i + 1"` inside a repeat block.

Keras Tuner freezes a range when a name is first registered (`hp.Int("units_2", 16, units_1)`
keeps the first trial's `units_1` for good), so ktrun never registers a moving range. Each
dependent bound compiles to the widest range its expression can take, which is what Keras Tuner
registers, plus an implied constraint (`units_2 <= units_1`) that the feasible-only samplers
enforce like a declared one. Inside a repeat block `i` is the repetition (1 for `units_1`), so
`hp.Int(f"units_{i}", 1 + i, 3 + i)` is `{min: "i", max: "i + 2"}` (ktrun counts from 1).

Plain data in and out: the space (`ktrun.analysis.space`) resolves names and conditions, this
module resolves the expressions, in dependency order, and says what is wrong with them.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ktrun import problems as pb
from ktrun.analysis.expressions import EvalError, Expr, ExprError, parse
from ktrun.analysis.values import literal_range, values
from ktrun.config.provenance import KeyPath
from ktrun.problems import Problem
from ktrun.spec.hyperparameters import BoundExpr, FloatHp, Hyperparameter, IntHp
from ktrun.spec.refs import Scalar

#: The repetition inside a repeat block (1 for the first), in a bound's expression.
INDEX = "i"
#: Joint values of the names one bound reads, enumerated exactly up to this many (else sampled).
ENV_LIMIT = 20_000
#: Points taken from a continuous (or very large) range that a bound reads.
GRID = 33

Side = Literal["min", "max"]
SIDES: tuple[Side, Side] = ("min", "max")
_NAME = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


@dataclass(frozen=True)
class Holder:
    """A parameter whose declaration may carry dependent bounds, as the space expanded it."""

    name: str
    base: str
    decl: Hyperparameter
    #: Base names as written → this parameter's instance names (a repetition's own instances).
    rename: Mapping[str, str]
    #: Its repetition in the innermost repeat block (None outside one).
    index: int | None


@dataclass(frozen=True)
class Bound:
    """One side of one parameter's dependent bound, its names resolved to parameters."""

    param: str
    base: str
    side: Side
    expr: Expr
    #: Names as written → the parameters they read (`i` excluded).
    reads: Mapping[str, str]
    index: int | None

    @property
    def path(self) -> KeyPath:
        return ("hyperparameters", self.base, self.side)

    def value(self, point: Mapping[str, Scalar]) -> object:
        env: dict[str, Scalar] = {w: point[p] for w, p in self.reads.items()}
        if self.index is not None:
            env[INDEX] = self.index
        return self.expr.value(env)

    def constraint_text(self) -> str:
        """The implied constraint, in the parameters' own names: `units_2 <= units_1 // 2`."""
        names = {**self.reads, **({INDEX: str(self.index)} if self.index is not None else {})}
        rhs = _NAME.sub(lambda m: names.get(m.group(0), m.group(0)), self.expr.text)
        return f"{self.param} {'>=' if self.side == 'min' else '<='} {rhs}"


@dataclass
class Resolved:
    """What `resolve` found: each parameter's widest declaration, the implied constraints (as
    text over parameter names), the references (for activity) and the problems."""

    decls: dict[str, Hyperparameter]
    constraints: list[tuple[Bound, str]]
    reads: dict[str, set[str]]
    problems: list[Problem]


def parse_bound(text: str) -> Expr:
    """A bound as written: `$units_1` or an expression; a `$` before a name is allowed."""
    return parse(re.sub(r"\$(?=[A-Za-z_])", "", text))


def dependent_sides(decl: Hyperparameter) -> list[tuple[Side, BoundExpr]]:
    if not isinstance(decl, IntHp | FloatHp):
        return []
    return [(s, b) for s in SIDES if isinstance(b := getattr(decl, s), BoundExpr)]


class _Problems:
    """One problem per key and code: every repetition of a bound repeats the same mistake."""

    def __init__(self) -> None:
        self.found: list[Problem] = []
        self._seen: set[tuple[str, KeyPath]] = set()

    def add(self, p: Problem) -> None:
        if (p.code, p.path) not in self._seen:
            self._seen.add((p.code, p.path))
            self.found.append(p)


def resolve(holders: Mapping[str, Holder], instances: Mapping[str, Sequence[str]]) -> Resolved:
    """Parse, resolve and order every dependent bound; compile each to the widest range.

    `instances`: base name → its per-repetition instance names (for a hint naming them)."""
    probs = _Problems()
    bounds: dict[str, list[Bound]] = {}
    parsed: dict[tuple[str, Side], Expr | None] = {}
    for h in holders.values():
        for side, b in dependent_sides(h.decl):
            at = ("hyperparameters", h.base, side)
            key = (h.base, side)
            if key not in parsed:
                try:
                    parsed[key] = parse_bound(b.text)
                except ExprError as e:
                    parsed[key] = None
                    col = f" (column {e.column})" if e.column and e.column > 0 else ""
                    probs.add(
                        pb.error(
                            "bound-syntax",
                            at,
                            f"cannot parse the {side} of `{h.base}`, `{b.text}`{col}: {e.message}",
                            "write a reference like `$units_1` or arithmetic like `units_1 // 2`",
                        )
                    )
            expr = parsed[key]
            if expr is None:
                continue
            reads = _reads(h, side, expr, holders, instances, probs)
            if reads is not None:
                bounds.setdefault(h.name, []).append(Bound(h.name, h.base, side, expr, reads, h.index))
    order, cyclic = _order(bounds, probs)
    decls = {name: h.decl for name, h in holders.items()}
    constraints: list[tuple[Bound, str]] = []
    for name in order:
        if name in cyclic:
            continue
        h = holders[name]
        decl = _widest(h, bounds.get(name, []), decls, probs)
        decls[name] = decl
        for bound in bounds.get(name, []):
            if bound.reads:  # a bound of `i` and numbers alone is static: nothing to enforce
                constraints.append((bound, bound.constraint_text()))
    for name, h in holders.items():
        if dependent_sides(decls[name]):  # unresolved (an error is reported): its literal side
            lo, hi = literal_range(h.decl)  # type: ignore[arg-type]
            decls[name] = h.decl.model_copy(update={"min": lo, "max": hi})
    reads_of = {n: {p for b in bs for p in b.reads.values()} for n, bs in bounds.items() if n not in cyclic}
    return Resolved(decls, constraints, reads_of, probs.found)


def _reads(
    h: Holder,
    side: Side,
    expr: Expr,
    holders: Mapping[str, Holder],
    instances: Mapping[str, Sequence[str]],
    probs: _Problems,
) -> dict[str, str] | None:
    at = ("hyperparameters", h.base, side)
    out: dict[str, str] = {}
    ok = True
    for written in sorted(expr.names):
        if written == INDEX and h.index is not None:
            continue
        target = h.rename.get(written, written)
        if target in holders:
            out[written] = target
            continue
        ok = False
        if written == INDEX:
            probs.add(
                pb.error(
                    "bound-index-outside-repeat",
                    at,
                    f"the {side} of `{h.base}` uses `{INDEX}`, the repetition, but `{h.base}` is not "
                    f"used inside a repeat block (or is listed in its `shared`)",
                    f"use `{INDEX}` only in the bounds of a hyperparameter that has one instance per "
                    "repetition; elsewhere write the number",
                )
            )
            continue
        per_rep = list(instances.get(written, ()))
        if per_rep:
            hint = (
                f"`{written}` has one instance per repetition outside this block: name one "
                f"({', '.join(f'`{n}`' for n in per_rep[:3])})"
            )
        else:
            close = difflib.get_close_matches(written, [n for n in holders if n != h.name], n=1)
            hint = (
                f"did you mean `{close[0]}`? " if close else ""
            ) + "a bound reads declared hyperparameters"
        probs.add(
            pb.error(
                "unknown-reference",
                at,
                f"the {side} of `{h.base}` reads `{written}`, which names no hyperparameter",
                hint,
            )
        )
    return out if ok else None


def _order(bounds: Mapping[str, list[Bound]], probs: _Problems) -> tuple[list[str], set[str]]:
    """Parameters a bound reads before the bound's own (depth first); members of a cycle apart."""
    order: list[str] = []
    state: dict[str, int] = {}
    cyclic: set[str] = set()
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for b in bounds.get(n, []):
            for p in b.reads.values():
                if state.get(p) == 1:
                    cycle = [*stack[stack.index(p) :], p]
                    cyclic.update(cycle)
                    first = next(x for x in bounds[cycle[-2]] if p in x.reads.values())
                    itself = len(cycle) == 2  # `units: {max: $units_1}` in a repeat, at units_1
                    probs.add(
                        pb.error(
                            "bound-cycle",
                            first.path,
                            f"the {first.side} of `{first.base}` reads `{p}`, which is `{first.base}` "
                            "itself there"
                            if itself
                            else f"bounds depend on each other in a cycle: {' → '.join(cycle)}",
                            "bound it by another hyperparameter (e.g. one declared for the first layer alone)"
                            if itself
                            else "a bound may read only hyperparameters whose own bounds do not read "
                            "it back; write one side as a number",
                        )
                    )
                elif p not in state:
                    visit(p)
        stack.pop()
        state[n] = 2
        order.append(n)

    for n in bounds:
        if n not in state:
            visit(n)
    return order, cyclic


def _domain(decl: Hyperparameter) -> list[Scalar]:
    """The values a bound can read from a parameter: all of a small finite domain, else a grid."""
    vals = values(decl)
    if vals is not None and len(vals) <= GRID * 30:
        return list(vals)
    if isinstance(decl, IntHp | FloatHp):
        lo, hi = literal_range(decl)
        grid = [lo + (hi - lo) * k / (GRID - 1) for k in range(GRID)]
        return sorted({round(g) for g in grid} if isinstance(decl, IntHp) else set(grid))
    return list(vals or ())[:GRID] if vals else []


def _envs(names: Sequence[str], domains: Mapping[str, list[Scalar]]) -> list[dict[str, Scalar]]:
    if any(not domains[n] for n in names):
        return []
    sizes = [len(domains[n]) for n in names]
    total = 1
    for s in sizes:
        total *= max(s, 1)
    if total <= ENV_LIMIT:
        combos = itertools.product(*(domains[n] for n in names))
        return [dict(zip(names, c, strict=True)) for c in combos]
    rng = random.Random(0)
    ends = itertools.product(*((domains[n][0], domains[n][-1]) for n in names))
    corners = [dict(zip(names, c, strict=True)) for c in ends]
    return corners[:ENV_LIMIT] + [{n: rng.choice(domains[n]) for n in names} for _ in range(ENV_LIMIT)]


def _widest(
    h: Holder, own: list[Bound], decls: Mapping[str, Hyperparameter], probs: _Problems
) -> Hyperparameter:
    """The declaration Keras Tuner registers: each dependent side at its widest over every
    value the names it reads can take (all of them when few, else a grid and a sample)."""
    decl = h.decl
    if not own or not isinstance(decl, IntHp | FloatHp) or len(own) < len(dependent_sides(decl)):
        return decl  # a side with an error (reported): the literal side stands in, see `resolve`
    names = sorted({p for b in own for p in b.reads.values()})
    domains = {n: _domain(decls[n]) for n in names}
    literal = {s: getattr(decl, s) for s in SIDES if not isinstance(getattr(decl, s), BoundExpr)}
    by_side = {b.side: b for b in own}
    kind = "an integer" if isinstance(decl, IntHp) else "a number"
    pairs: list[tuple[float, float]] = []
    for env in _envs(names, domains):
        pair: list[float] = []
        for side in SIDES:
            b = by_side.get(side)
            if b is None:
                pair.append(literal[side])
                continue
            v = _evaluate(b, env, isinstance(decl, IntHp), kind, probs)
            if v is None:
                return decl  # reported; the literal side stands in (see `resolve`)
            pair.append(v)
        pairs.append((pair[0], pair[1]))
    if not pairs:
        return decl
    lo, hi = min(p[0] for p in pairs), max(p[1] for p in pairs)
    if isinstance(decl, FloatHp):
        lo, hi = float(lo), float(hi)
    widest = decl.model_copy(update={"min": lo, "max": hi})
    if not any(_fits(widest, p) for p in pairs):
        written = f"{decl.min}..{decl.max}"
        example = _example(pairs[0], names, _envs(names, domains)[0])
        probs.add(
            pb.error(
                "bound-range-empty",
                own[0].path,
                f"`{h.base}` can take no value: its range {written} holds no value of its own "
                f"for any value of {', '.join(names) or INDEX} ({example})",
                "widen the range: the min must be at most the max for some values of what the bound reads",
            )
        )
    return widest


def _evaluate(
    b: Bound, env: Mapping[str, Scalar], integer: bool, kind: str, probs: _Problems
) -> float | None:
    shown = ", ".join(f"{p}={env[p]}" for p in b.reads.values()) + (
        f"{', ' if b.reads else ''}{INDEX}={b.index}" if b.index is not None else ""
    )
    try:
        v = b.value(env)
    except EvalError as e:
        probs.add(
            pb.error(
                "bound-type-error",
                b.path,
                f"the {b.side} of `{b.base}`, `{b.expr.text}`, cannot be worked out for {shown}: {e}",
                "a bound is arithmetic on numeric hyperparameters; avoid dividing by a value that can be 0",
            )
        )
        return None
    if (
        isinstance(v, bool)
        or not isinstance(v, int | float)
        or (integer and not isinstance(v, int))
        or not math.isfinite(v)
    ):
        got = "true/false" if isinstance(v, bool) else f"{type(v).__name__} {v!r}"
        hint = (
            "use `//` for a whole-number division, and read int hyperparameters only"
            if integer and isinstance(v, float)
            else "read numeric hyperparameters (int, float, or a choice of numbers) only"
        )
        probs.add(
            pb.error(
                "bound-type-error",
                b.path,
                f"the {b.side} of `{b.base}`, `{b.expr.text}`, must be {kind} but is {got} for {shown}",
                hint,
            )
        )
        return None
    return v


def _fits(decl: IntHp | FloatHp, pair: tuple[float, float]) -> bool:
    """Whether some value of the widest range lies within this point's [min, max]."""
    lo, hi = pair
    if lo > hi:
        return False
    vals = values(decl)
    if vals is None:
        return True
    ordered = sorted(float(v) for v in vals)
    k = bisect.bisect_left(ordered, lo)
    return k < len(ordered) and ordered[k] <= hi


def _example(pair: tuple[float, float], names: Sequence[str], env: Mapping[str, Scalar]) -> str:
    at = ", ".join(f"{n}={env[n]}" for n in names)
    return f"e.g. {pair[0]:g}..{pair[1]:g}" + (f" for {at}" if at else "")


def widest_of(decls: Sequence[Hyperparameter]) -> Hyperparameter:
    """One declaration covering several instances' (a base name's row in the space summary)."""
    first = decls[0]
    if not isinstance(first, IntHp | FloatHp) or len(decls) == 1:
        return first
    ranges = [literal_range(d) for d in decls if isinstance(d, IntHp | FloatHp)]
    return first.model_copy(update={"min": min(r[0] for r in ranges), "max": max(r[1] for r in ranges)})


__all__ = ["INDEX", "Bound", "Holder", "Resolved", "dependent_sides", "parse_bound", "resolve", "widest_of"]
