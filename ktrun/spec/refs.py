"""Layer and optimizer arguments: a literal, `$name` (a reference to a declared hyperparameter),
or, for numbers and booleans, an expression of hyperparameters (`"28 - image_size"`, `"not freeze"`).

Each argument kind is one Pydantic type with one error message, so a wrong value reads
"expected an integer or a reference like `$units`" instead of one error per union branch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
REF_PATTERN = r"^\$[A-Za-z_][A-Za-z0-9_]*$"
_REF_RE = re.compile(REF_PATTERN)
REF_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": REF_PATTERN,
    "description": "Reference to a declared hyperparameter, e.g. `$units_1`.",
}


@dataclass(frozen=True)
class HpRef:
    """`$name` in YAML: the value of hyperparameter `name` for the trial being built."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


@dataclass(frozen=True)
class HpExpr:
    """`"28 - image_size"` where a number or a boolean goes: a value computed from the trial's
    hyperparameters, registered nowhere (Keras Tuner searches only what it reads). Parsed and
    checked by the analysis (ktrun.analysis.expressions: an allowlist, never `eval`)."""

    text: str

    def __str__(self) -> str:
        return self.text


#: Longer expressions are refused as they are read (the parser's own limit, early).
MAX_EXPRESSION = 1000

Scalar = int | float | str | bool


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_KINDS: dict[str, tuple[str, Any]] = {
    # kind: (what the message says, predicate)
    "int": ("an integer", _is_int),
    "count": ("an integer", _is_int),
    "float": ("a number", _is_number),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "str": ("a name", lambda v: isinstance(v, str)),
    "any": ("a number, a string or true/false", lambda v: isinstance(v, int | float | str | bool)),
}
_JSON_TYPES = {"count": "integer", "int": "integer", "float": "number", "bool": "boolean", "str": "string"}


def _parse_ref(v: object) -> HpRef | None:
    if isinstance(v, HpRef):
        return v
    if isinstance(v, str) and _REF_RE.match(v):
        return HpRef(v[1:])
    return None


#: Argument kinds whose strings are expressions: a string is never a literal of these.
_COMPUTED = ("int", "float", "bool")


def _validator(kind: str, allow_list: bool, pairs: bool = False) -> Any:
    label, ok = _KINDS[kind]

    def one(v: object) -> object:
        ref = _parse_ref(v)
        if ref is not None:
            return ref
        if isinstance(v, HpExpr):
            return v
        if isinstance(v, str) and v.startswith("$"):
            raise PydanticCustomError(
                "bad_reference",
                "`{value}` is not a valid reference: write `$` and a hyperparameter name "
                "(letters, digits, underscores)",
                {"value": v},
            )
        if isinstance(v, str) and kind in _COMPUTED:
            if not v.strip():
                raise PydanticCustomError("arg_type", "expected " + label + ", got an empty string", {})
            if len(v) > MAX_EXPRESSION:
                raise PydanticCustomError(
                    "arg_type",
                    "an expression is at most {n} characters, got {got}",
                    {"n": MAX_EXPRESSION, "got": len(v)},
                )
            return HpExpr(v.strip())
        if ok(v):
            if isinstance(v, float) and not math.isfinite(v):
                raise PydanticCustomError("arg_type", "expected a finite number, got {got}", {"got": repr(v)})
            return float(v) if kind == "float" else v  # type: ignore[arg-type]
        raise PydanticCustomError(
            "arg_type",
            "expected "
            + label
            + (" (or a list of them)" if allow_list else "")
            + " or a reference like `$name`, got {got}",
            {"got": repr(v)},
        )

    def pair(v: object) -> object:
        if pairs and isinstance(v, list | tuple):
            if len(v) != 2:
                raise PydanticCustomError(
                    "arg_type", "expected a pair [before, after], got {n} values", {"n": len(v)}
                )
            return [one(x) for x in v]
        return one(v)

    def validate(v: object) -> object:
        if allow_list and isinstance(v, list | tuple):
            if not v:
                raise PydanticCustomError("arg_type", "expected a non-empty list", {})
            return [pair(x) for x in v]
        return one(v)

    return validate


def _serialize(v: object) -> object:
    if isinstance(v, HpRef | HpExpr):
        return str(v)
    if isinstance(v, list):
        return [_serialize(x) for x in v]
    return v


EXPR_SCHEMA: dict[str, Any] = {
    "type": "string",
    "description": "An expression of hyperparameters, e.g. `28 - image_size` or `not freeze`.",
}


def _schema(kind: str, allow_list: bool, enum: list[str] | None, pairs: bool = False) -> dict[str, Any]:
    base: dict[str, Any] = (
        {"type": _JSON_TYPES[kind]} if kind in _JSON_TYPES else {"type": ["number", "string", "boolean"]}
    )
    if enum is not None:
        base = {"enum": enum}
    computed = [EXPR_SCHEMA] if kind in _COMPUTED and enum is None else []
    one = {"anyOf": [base, REF_SCHEMA, *computed]}
    if not allow_list:
        return one
    item = one
    if pairs:
        item = {"anyOf": [*one["anyOf"], {"type": "array", "minItems": 2, "maxItems": 2, "items": one}]}
    return {"anyOf": [base, REF_SCHEMA, *computed, {"type": "array", "minItems": 1, "items": item}]}


SERIALIZER = PlainSerializer(_serialize)


def validator(kind: str, *, allow_list: bool = False, pairs: bool = False) -> PlainValidator:
    return PlainValidator(_validator(kind, allow_list, pairs))


def json_schema(
    kind: str, *, allow_list: bool = False, enum: list[str] | None = None, pairs: bool = False
) -> Any:
    """JSON Schema for editors; an `enum` gives completion for names from a known table."""
    return WithJsonSchema(_schema(kind, allow_list, enum, pairs))


IntArg = Annotated[int | HpRef | HpExpr, validator("int"), SERIALIZER, json_schema("int")]
CountArg = Annotated[int | HpRef, validator("count"), SERIALIZER, json_schema("count")]
"""A count the space is built from (a repeat's `times`, `epochs`): a number or `$name`, not computed."""
FloatArg = Annotated[float | HpRef | HpExpr, validator("float"), SERIALIZER, json_schema("float")]
BoolArg = Annotated[bool | HpRef | HpExpr, validator("bool"), SERIALIZER, json_schema("bool")]
StrArg = Annotated[str | HpRef, validator("str"), SERIALIZER, json_schema("str")]
SizeArg = Annotated[
    int | HpRef | HpExpr | list[int | HpRef | HpExpr],
    validator("int", allow_list=True),
    SERIALIZER,
    json_schema("int", allow_list=True),
]
EdgesArg = Annotated[
    int | HpRef | HpExpr | list[int | HpRef | HpExpr | list[int | HpRef | HpExpr]],
    validator("int", allow_list=True, pairs=True),
    SERIALIZER,
    json_schema("int", allow_list=True, pairs=True),
]
"""Padding or cropping: one amount for every side, one per axis (both its sides), or a pair
`[before, after]` per axis, as Keras takes them."""
AnyArg = Annotated[
    Scalar | HpRef | list[Scalar | HpRef],
    validator("any", allow_list=True),
    SERIALIZER,
    json_schema("any", allow_list=True),
]
"""An argument of a custom layer: ktrun knows nothing of its meaning, only its reference."""
