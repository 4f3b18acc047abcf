"""One hyperparameter's values, as Keras Tuner defines them: how many, which, in what order, and a
random draw. Ranges are inclusive; a float range with a step is a grid, without one continuous."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from ktrun.spec.hyperparameters import BooleanHp, BoundExpr, ChoiceHp, FixedHp, FloatHp, Hyperparameter, IntHp
from ktrun.spec.refs import Scalar

#: Above this many values a domain is counted, not listed.
MAX_LISTED_VALUES = 100_000


def literal_range(decl: IntHp | FloatHp) -> tuple[Any, Any]:
    """(min, max) as numbers. The space replaces a dependent bound by the widest range it can
    take (`ktrun.analysis.bounds`); one still here (a repeat count, which is read before the
    space exists, or a bound with errors) stands in as its literal side."""
    lo, hi = decl.min, decl.max
    if isinstance(lo, BoundExpr):
        lo = hi if not isinstance(hi, BoundExpr) else 0
    if isinstance(hi, BoundExpr):
        hi = lo
    return lo, hi


def is_dependent(decl: Hyperparameter) -> bool:
    return isinstance(decl, IntHp | FloatHp) and (
        isinstance(decl.min, BoundExpr) or isinstance(decl.max, BoundExpr)
    )


def cardinality(decl: Hyperparameter) -> int | None:
    """Number of distinct values, None for a continuous range, 0 for an invalid declaration."""
    if isinstance(decl, ChoiceHp):
        return len(decl.values)
    if isinstance(decl, BooleanHp):
        return 2
    if isinstance(decl, FixedHp):
        return 1
    (lo, hi), step = literal_range(decl), decl.step
    if hi < lo:
        return 0
    if decl.sampling != "linear" and lo <= 0:
        return 0
    if isinstance(decl, FloatHp) and step is None:
        return None if hi > lo else 1
    if step is not None and step <= 0:
        return 0
    if decl.sampling == "linear":
        # Inclusive max, robust to float rounding (0.5 // 0.1 == 4.0); the compiler passes
        # Keras Tuner a max nudged by the same tolerance so both agree.
        return int((hi - lo) / (step or 1) + 1e-9) + 1
    if step is None:  # int with log sampling and no step: any integer in range
        return int(hi - lo + 1)
    if lo <= 0 or step <= 1:
        return 0
    # Keras Tuner's own formula (Numerical._get_n_values).
    return int(math.log(hi / lo, step) + 1e-8) + 1


def _value_at(decl: IntHp | FloatHp, i: int) -> Scalar:
    (lo, hi), step = literal_range(decl), decl.step
    if decl.sampling == "linear" or step is None:
        v: float = lo + i * (step or 1)
    elif decl.sampling == "log":
        v = lo * math.pow(step, i)
    else:
        v = hi + lo - lo * math.pow(step, i)
    return int(v) if isinstance(decl, IntHp) else v


def values(decl: Hyperparameter) -> tuple[Scalar, ...] | None:
    """Every value, in order; None when continuous or too many to list."""
    if isinstance(decl, ChoiceHp):
        return tuple(decl.values)
    if isinstance(decl, BooleanHp):
        return (False, True)
    if isinstance(decl, FixedHp):
        return (decl.value,)
    n = cardinality(decl)
    lo, hi = literal_range(decl)
    if n == 0:  # an invalid declaration (reported by the checks) is analysed as its min
        return (lo,)
    if n is None or n > MAX_LISTED_VALUES:
        return None
    if isinstance(decl, IntHp) and decl.step is None:
        return tuple(range(lo, hi + 1))
    return tuple(_value_at(decl, i) for i in range(n))


def iter_values(decl: Hyperparameter) -> Iterator[Scalar]:
    """Every value, in order, lazily: a finite domain too large to list (`values` gives None)
    still enumerates, so a grid over 200,000 integers walks them instead of finding none."""
    listed = values(decl)
    if listed is not None:
        yield from listed
        return
    if not isinstance(decl, IntHp | FloatHp):
        return
    n = cardinality(decl)
    if n is None:  # continuous: nothing to enumerate (`grid-infinite-space` refuses it)
        return
    if isinstance(decl, IntHp) and decl.step is None:
        lo, hi = literal_range(decl)
        yield from range(lo, hi + 1)
        return
    for i in range(n):
        yield _value_at(decl, i)


def keras_tuner_max(decl: IntHp | FloatHp) -> float:
    """The max_value to give Keras Tuner so that it samples exactly `values(decl)`.

    Keras Tuner counts stepped floats with `(max - min) // step + 1`, and `0.5 // 0.1 == 4.0`
    in floating point, so `{min: 0, max: 0.5, step: 0.1}` would silently never sample 0.5.
    """
    hi = literal_range(decl)[1]
    if isinstance(decl, FloatHp) and decl.step is not None and decl.sampling == "linear":
        return float(hi + decl.step * 1e-6)
    return float(hi) if isinstance(decl, FloatHp) else int(hi)


def bounds(decl: Hyperparameter) -> tuple[Scalar, Scalar] | None:
    """Smallest and largest value of a numeric domain (None for non-numeric choices)."""
    if isinstance(decl, IntHp | FloatHp):
        lo, hi = literal_range(decl)
        return (lo, hi)
    vals = values(decl)
    nums = [v for v in vals or () if isinstance(v, int | float) and not isinstance(v, bool)]
    if not nums or len(nums) != len(vals or ()):
        return None
    return (min(nums), max(nums))


def sample(decl: Hyperparameter, rng: random.Random) -> Scalar:
    """One value, with Keras Tuner's distribution (uniform in the sampling's scale)."""
    if isinstance(decl, ChoiceHp):
        return rng.choice(decl.values)
    if isinstance(decl, BooleanHp):
        return rng.random() < 0.5
    if isinstance(decl, FixedHp):
        return decl.value
    n = cardinality(decl)
    lo, hi = literal_range(decl)
    if n == 0:  # invalid declaration: see `values`
        return lo  # type: ignore[no-any-return]  # a number: see literal_range
    if n is not None and (decl.step is not None or isinstance(decl, IntHp)):
        if isinstance(decl, IntHp) and decl.step is None:
            return rng.randint(lo, hi)
        return _value_at(decl, rng.randrange(max(n, 1)))
    p = rng.random()
    if decl.sampling == "linear":
        return float(lo + p * (hi - lo))
    if decl.sampling == "log":
        return float(lo * math.pow(hi / lo, p))
    return float(hi + lo - lo * math.pow(hi / lo, 1 - p))
