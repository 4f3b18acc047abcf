"""Pareto fronts over several objectives, and the rules that pick one trial of a front as best.

Plain numbers in, trial ids out: the runtime's `SearchOutcome.best()` and the results read it,
and a multi-objective sampler can use `dominates` to rank what it proposes. A point dominates
another when it is at least as good in every objective and better in one, each objective in its
own direction; points with equal values dominate neither, so ties stay on the front together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Direction = Literal["min", "max"]


@dataclass(frozen=True)
class Objective:
    name: str
    direction: Direction


#: A candidate: its id and its value for each objective, in the objectives' order.
Point = tuple[str, tuple[float, ...]]


def _better_or_equal(a: float, b: float, direction: Direction) -> bool:
    return a >= b if direction == "max" else a <= b


def dominates(a: Sequence[float], b: Sequence[float], objectives: Sequence[Objective]) -> bool:
    """`a` is at least as good as `b` everywhere and strictly better somewhere."""
    pairs = list(zip(a, b, objectives, strict=True))
    return all(_better_or_equal(x, y, o.direction) for x, y, o in pairs) and any(x != y for x, y, _ in pairs)


def front(points: Sequence[Point], objectives: Sequence[Objective]) -> list[Point]:
    """The non-dominated points, in their given order (points with a NaN value take no part)."""
    usable = [p for p in points if all(math.isfinite(v) for v in p[1])]
    return [p for p in usable if not any(dominates(q[1], p[1], objectives) for q in usable if q is not p)]


@dataclass(frozen=True)
class Limits:
    """`objective_best: {max: {...}, min: {...}}`: bounds a trial must keep to be chosen."""

    max: Mapping[str, float]
    min: Mapping[str, float]

    def allow(self, values: Sequence[float], objectives: Sequence[Objective]) -> bool:
        by_name = {o.name: v for o, v in zip(objectives, values, strict=True)}
        return all(by_name[n] <= v for n, v in self.max.items() if n in by_name) and all(
            by_name[n] >= v for n, v in self.min.items() if n in by_name
        )


Rule = Literal["first", "knee"] | Limits


def first(points: Sequence[Point], objectives: Sequence[Objective]) -> Point | None:
    """The best by the first objective; among equals, the one the rest rank highest (so a point
    on the front), then the earliest."""
    if not points:
        return None
    sign = [1.0 if o.direction == "max" else -1.0 for o in objectives]
    return max(points, key=lambda p: tuple(s * v for s, v in zip(sign, p[1], strict=True)))


def knee(points: Sequence[Point], objectives: Sequence[Objective]) -> Point | None:
    """The front's point nearest its ideal point (each objective's best), every objective scaled
    to the front's range so that weights and accuracy weigh alike; ties: the earliest."""
    on_front = front(points, objectives)
    if len(on_front) <= 1:
        return on_front[0] if on_front else None
    lows = [min(p[1][i] for p in on_front) for i in range(len(objectives))]
    highs = [max(p[1][i] for p in on_front) for i in range(len(objectives))]

    def distance(p: Point) -> float:
        total = 0.0
        for v, lo, hi, o in zip(p[1], lows, highs, objectives, strict=True):
            if hi == lo:
                continue
            gap = (hi - v if o.direction == "max" else v - lo) / (hi - lo)
            total += gap * gap
        return math.sqrt(total)

    return min(on_front, key=distance)


def choose(points: Sequence[Point], objectives: Sequence[Objective], rule: Rule) -> Point | None:
    """The best point by `rule` (None: no point, or none within the limits)."""
    usable = [p for p in points if all(math.isfinite(v) for v in p[1])]
    if rule == "knee":
        return knee(usable, objectives)
    if isinstance(rule, Limits):
        usable = [p for p in usable if rule.allow(p[1], objectives)]
    return first(usable, objectives)
