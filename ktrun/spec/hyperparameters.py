"""Hyperparameter declarations, with Keras Tuner's semantics (`hp.Int`, `hp.Float`, ...).

Ranges are inclusive like Keras Tuner's. Whether a declaration is sound (min <= max, step fits,
log sampling with min > 0, the values fit where they are used) is left to the checks, which
report every problem at once with a hint instead of stopping at the first.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ktrun.spec.base import Condition, Strict
from ktrun.spec.refs import Scalar

Sampling = Literal["linear", "log", "reverse_log"]


class _HpBase(Strict):
    when: Condition | None = None
    description: str | None = None


class IntHp(_HpBase):
    """An integer in [min, max]; with `sampling: log`, `step` is a factor (16, 32, 64 with 2)."""

    type: Literal["int"]
    min: int
    max: int
    step: int | None = Field(None, description="Distance between values (a factor with log).")
    sampling: Sampling = "linear"
    default: int | None = None


class FloatHp(_HpBase):
    """A real number in [min, max]; continuous unless `step` is given."""

    type: Literal["float"]
    min: float
    max: float
    step: float | None = None
    sampling: Sampling = "linear"
    default: float | None = None


class ChoiceHp(_HpBase):
    """One of `values` (all of one type: Keras Tuner compares and orders them)."""

    type: Literal["choice"]
    values: list[Scalar] = Field(min_length=1)
    ordered: bool | None = None
    default: Scalar | None = None


class BooleanHp(_HpBase):
    type: Literal["boolean"]
    default: bool = False


class FixedHp(_HpBase):
    """A constant recorded with every trial (useful to compare runs across experiments)."""

    type: Literal["fixed"]
    value: Scalar


Hyperparameter = Annotated[IntHp | FloatHp | ChoiceHp | BooleanHp | FixedHp, Field(discriminator="type")]
