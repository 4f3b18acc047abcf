"""Shared Pydantic base: strict, unknown keys are errors, every model documents itself."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ktrun.spec.refs import NAME_PATTERN, Scalar


class Strict(BaseModel):
    """Strict types (no "3" → 3) and no unknown keys: typos are errors, not silent defaults."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True, allow_inf_nan=False)


def _as_list(v: object) -> object:
    """`when: {optimizer: sgd}` is shorthand for `when: {optimizer: [sgd]}`."""
    if isinstance(v, dict):
        return {k: (x if isinstance(x, list) else [x]) for k, x in v.items()}
    return v


HpName = Annotated[str, Field(pattern=NAME_PATTERN)]

Condition = Annotated[
    dict[HpName, list[Scalar]],
    BeforeValidator(_as_list, json_schema_input_type=dict[str, Scalar | list[Scalar]]),
    Field(
        description=(
            "Active only when each named hyperparameter has one of the listed values "
            "(compiled to Keras Tuner's `conditional_scope`)."
        ),
    ),
]
