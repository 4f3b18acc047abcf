"""Hyperparameter declarations, with Keras Tuner's semantics (`hp.Int`, `hp.Float`, ...).

Ranges are inclusive like Keras Tuner's; a bound may be an expression of other hyperparameters.
Whether a declaration is sound (min <= max, step fits, log sampling with min > 0, the values fit
where they are used) is left to the checks, which report every problem at once with a hint
instead of stopping at the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from ktrun.spec.base import Condition, Strict
from ktrun.spec.refs import Scalar

Sampling = Literal["linear", "log", "reverse_log"]
#: The check's `hp-step-invalid` bound, for editors (Pydantic leaves it to the check, whose
#: message says more).
_POSITIVE_STEP: dict[str, Any] = {"exclusiveMinimum": 0}
_SAMPLING = "How values are drawn: linear (evenly), log (evenly in log scale, min > 0) or reverse_log."


@dataclass(frozen=True)
class BoundExpr:
    """`max: $units_1` or `max: "units_1 // 2"`: a bound that depends on other hyperparameters
    (inside a repeat block, `i` is the repetition: 1 for `units_1`). Parsed and checked by the
    analysis, which compiles it to the widest range it can take plus an implied constraint."""

    text: str

    def __str__(self) -> str:
        return self.text


def _bound_validator(kind: str) -> Any:
    def validate(v: object) -> object:
        if isinstance(v, BoundExpr):
            return v
        if isinstance(v, str):
            if not v.strip():
                raise PydanticCustomError("bound_type", "a bound cannot be empty", {})
            return BoundExpr(v.strip())
        number = isinstance(v, int | float) and not isinstance(v, bool)
        if kind == "int" and isinstance(v, int) and not isinstance(v, bool):
            return v
        if kind == "float" and number:
            if not math.isfinite(v):  # type: ignore[arg-type]
                raise PydanticCustomError(
                    "bound_type", "expected a finite number, got {got}", {"got": repr(v)}
                )
            return float(v)  # type: ignore[arg-type]
        what = "an integer" if kind == "int" else "a number"
        raise PydanticCustomError(
            "bound_type",
            "expected " + what + ", a reference like `$units_1` or an expression like "
            "`units_1 // 2`, got {got}",
            {"got": repr(v)},
        )

    return validate


def _bound_schema(kind: str) -> dict[str, Any]:
    expr = {
        "type": "string",
        "description": "A reference (`$units_1`) or an expression of other hyperparameters "
        "(`units_1 // 2`; `i` is the repetition inside a repeat block).",
    }
    return {"anyOf": [{"type": "integer" if kind == "int" else "number"}, expr]}


_SERIALIZE_BOUND = PlainSerializer(lambda v: v.text if isinstance(v, BoundExpr) else v)
IntBound = Annotated[
    int | BoundExpr,
    PlainValidator(_bound_validator("int")),
    _SERIALIZE_BOUND,
    WithJsonSchema(_bound_schema("int")),
]
FloatBound = Annotated[
    float | BoundExpr,
    PlainValidator(_bound_validator("float")),
    _SERIALIZE_BOUND,
    WithJsonSchema(_bound_schema("float")),
]


class _HpBase(Strict):
    when: Condition | None = Field(
        None, description="Active only when these hyperparameters have these values (a conditional space)."
    )
    description: str | None = Field(None, description="What it is for; shown in the plan and the report.")


class IntHp(_HpBase):
    """An integer in [min, max]; with `sampling: log`, `step` is a factor (16, 32, 64 with 2).
    A bound may depend on other hyperparameters (`max: $units_1`)."""

    type: Literal["int"] = Field(description="An integer in [min, max] (Keras Tuner's hp.Int).")
    min: IntBound = Field(description="The smallest value (inclusive).")
    max: IntBound = Field(description="The largest value (inclusive).")
    step: int | None = Field(
        None,
        description="Distance between values (a factor with log); > 0 (> 1 with log).",
        json_schema_extra=_POSITIVE_STEP,
    )
    sampling: Sampling = Field("linear", description=_SAMPLING)
    default: int | None = Field(None, description="The value of the first trial; unset: min.")


class FloatHp(_HpBase):
    """A real number in [min, max]; continuous unless `step` is given."""

    type: Literal["float"] = Field(description="A real number in [min, max] (Keras Tuner's hp.Float).")
    min: FloatBound = Field(description="The smallest value (inclusive).")
    max: FloatBound = Field(description="The largest value (inclusive).")
    step: float | None = Field(
        None,
        description="Distance between values (a factor with log); > 0 (> 1 with log); unset: continuous.",
        json_schema_extra=_POSITIVE_STEP,
    )
    sampling: Sampling = Field("linear", description=_SAMPLING)
    default: float | None = Field(None, description="The value of the first trial; unset: min.")


class ChoiceHp(_HpBase):
    """One of `values` (all of one type: Keras Tuner compares and orders them)."""

    type: Literal["choice"] = Field(description="One of `values` (Keras Tuner's hp.Choice).")
    values: list[Scalar] = Field(min_length=1, description="The values to choose from, all of one type.")
    ordered: bool | None = Field(
        None, description="Whether the values are ordered; unset: Keras Tuner's own (true for numbers)."
    )
    default: Scalar | None = Field(None, description="The value of the first trial; unset: the first value.")


class BooleanHp(_HpBase):
    """True or false (Keras Tuner's hp.Boolean)."""

    type: Literal["boolean"] = Field(description="True or false (Keras Tuner's hp.Boolean).")
    default: bool = Field(False, description="The value of the first trial.")


class FixedHp(_HpBase):
    """A constant recorded with every trial (useful to compare runs across experiments)."""

    type: Literal["fixed"] = Field(description="A constant (Keras Tuner's hp.Fixed).")
    value: Scalar = Field(description="The constant.")


Hyperparameter = Annotated[IntHp | FloatHp | ChoiceHp | BooleanHp | FixedHp, Field(discriminator="type")]
