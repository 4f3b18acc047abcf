"""Walk the schema's model classes along a key path: which keys exist there, for hints."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from ktrun.spec.experiment import ExperimentSpec


def _unwrap(t: Any) -> list[Any]:
    """The concrete types behind Annotated / Optional / unions."""
    origin = typing.get_origin(t)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(t)[0])
    if origin in (typing.Union, types.UnionType):
        return [x for a in typing.get_args(t) for x in _unwrap(a)]
    return [t]


def _descend(t: Any, elem: Any) -> Any:
    if isinstance(elem, str) and "[" in elem:  # a union tag (`rate[schedule]`), not a key
        return t
    for cand in _unwrap(t):
        origin = typing.get_origin(cand)
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            if elem in cand.model_fields:
                return cand.model_fields[elem].annotation
            tag = cand.model_fields.get("type")
            if tag is not None and elem in typing.get_args(tag.annotation):
                return cand
        elif origin is list and isinstance(elem, int | str) and str(elem).isdigit():
            return typing.get_args(cand)[0]
        elif origin is dict and isinstance(elem, str):
            return typing.get_args(cand)[1]
    return None


def allowed_at(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, list[str]]:
    """The model at `loc` (union tags allowed in it) and its keys; (None, []) when unknown."""
    t: Any = ExperimentSpec
    for elem in loc:
        t = _descend(t, elem)
        if t is None:
            return None, []
    models = [c for c in _unwrap(t) if isinstance(c, type) and issubclass(c, BaseModel)]
    if not models:
        return None, []
    fields = list(dict.fromkeys(f for m in models for f in m.model_fields))
    return (models[0] if len(models) == 1 else None), fields


def container_kind(loc: tuple[Any, ...]) -> str | None:
    """`mapping` or `list` where the schema wants one at `loc`; None where it takes anything else.

    Hydra merges files before Pydantic sees them, and a list where a section belongs fails the
    merge with one message for the whole file; knowing the shape first reports each key.
    """
    t: Any = ExperimentSpec
    for elem in loc:
        t = _descend(t, elem)
        if t is None:
            return None
    kinds = set()
    for cand in _unwrap(t):
        origin = typing.get_origin(cand)
        if (isinstance(cand, type) and issubclass(cand, BaseModel)) or origin is dict:
            kinds.add("mapping")
        elif origin is list:
            kinds.add("list")
        elif cand is not type(None):
            return None  # a scalar is allowed here too
    return kinds.pop() if len(kinds) == 1 else None
