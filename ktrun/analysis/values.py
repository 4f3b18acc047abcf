"""One hyperparameter's values, as Keras Tuner defines them: how many, which, in what order, and a
random draw. Ranges are inclusive; a float range with a step is a grid, without one continuous."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from decimal import Decimal
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
    if isinstance(decl, FloatHp):
        return _float_at(lo, hi, step, decl.sampling, i)
    if decl.sampling == "linear" or step is None:
        v: float = lo + i * (step or 1)
    elif decl.sampling == "log":
        v = lo * math.pow(step, i)
    else:
        v = hi + lo - lo * math.pow(step, i)
    return int(v)


def _decimal(x: float) -> Decimal:
    """The decimal a number was typed as: `repr` is the shortest text that reads back the same."""
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def _float_at(lo: float, hi: float, step: float | None, sampling: str, i: int) -> float:
    """The i-th value of a stepped float range as the decimal a person types (0.3), where Keras
    Tuner's float arithmetic gives 0.30000000000000004: computed in decimal, then rounded once."""
    d_lo, d_step = _decimal(lo), _decimal(step or 1)
    if sampling == "linear" or step is None:
        v = d_lo + i * d_step
    elif sampling == "log":
        v = d_lo * d_step**i
    else:
        v = _decimal(hi) + d_lo - d_lo * d_step**i
    return float(v)


def _kt_float_at(lo: float, hi: float, step: float, sampling: str, i: int) -> float:
    """Keras Tuner's own i-th value (`Numerical._get_value_by_index`), float rounding and all."""
    if sampling == "linear":
        return lo + i * step
    if sampling == "log":
        return lo * math.pow(step, i)
    return hi + lo - lo * math.pow(step, i)


def _index(value: float, lo: float, hi: float, step: float, sampling: str) -> int | None:
    """The index of the grid value nearest `value` (None when there is none)."""
    try:
        if sampling == "linear":
            i = (value - lo) / step
        elif sampling == "log":
            i = math.log(value / lo) / math.log(step)
        else:
            i = math.log((hi + lo - value) / lo) / math.log(step)
    except (ValueError, ZeroDivisionError):
        return None
    return round(i) if math.isfinite(i) and i > -0.5 else None


def on_grid(value: Scalar, lo: float, hi: float, step: float | None, sampling: str) -> Scalar:
    """A stepped float as the decimal it stands for: Keras Tuner samples `min + k*step` in float
    arithmetic (0.30000000000000004), and what ktrun records and compares is the value the user
    would type (0.3). Anything else (a continuous float, an int, a value off the grid) unchanged."""
    if step is None or not isinstance(value, float) or not math.isfinite(value):
        return value
    i = _index(value, lo, hi, step, sampling)
    if i is None:
        return value
    exact = _float_at(lo, hi, step, sampling, i)
    return exact if _same(exact, value) else value


def exact_value(decl: Hyperparameter, value: Scalar) -> Scalar:
    """`on_grid` for a declaration: a value Keras Tuner recorded, as the domain lists it."""
    if not isinstance(decl, FloatHp) or decl.step is None:
        return value
    lo, hi = literal_range(decl)
    return on_grid(value, lo, hi, decl.step, decl.sampling)


def keras_tuner_value(decl: Hyperparameter, value: Scalar) -> Scalar:
    """The float Keras Tuner itself uses for a stepped value (`exact_value`'s inverse): a point
    ktrun proposes (a grid step, a warm start, a solved point) must be the very float Keras
    Tuner samples, or its tried-points memory and its value-to-probability mapping
    (`(value - min) // step`, which puts 0.3 at index 2) read it as another point."""
    if not isinstance(decl, FloatHp) or decl.step is None or not isinstance(value, float):
        return value
    lo, hi = literal_range(decl)
    i = _index(value, lo, hi, decl.step, decl.sampling)
    if i is None:
        return value
    kt = _kt_float_at(float(lo), float(hi), decl.step, decl.sampling, i)
    return kt if _same(kt, value) else value


def _same(a: float, b: float) -> bool:
    """Equal within float rounding (a few units in the last place, not a tolerance on the value)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def matching(domain: Iterable[Scalar], value: Scalar) -> Scalar | None:
    """The value of `domain` that `value` is (a typed 0.30000000000000004 is the listed 0.3; a
    boolean is only a boolean, though True == 1), or None when it is none of them."""
    for v in domain:
        if isinstance(v, bool) != isinstance(value, bool):
            continue
        if v == value:
            return v
        if isinstance(v, float) and isinstance(value, int | float) and _same(v, value):
            return v
    return None


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
