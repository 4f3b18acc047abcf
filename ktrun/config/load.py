"""Stage 2: composed config → `ExperimentSpec`, with Pydantic's errors turned into ktrun problems.

Every schema error becomes one problem with a code, the key path as the user typed it (no
Pydantic union tags), the file:line or override that set it, and a hint listing what is allowed.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ktrun import problems as pb
from ktrun.config.compose import Composed
from ktrun.config.provenance import KeyPath, format_path
from ktrun.config.trust import clip
from ktrun.layers import REGISTRY
from ktrun.problems import ConfigError, Problem
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.introspect import allowed_at


@dataclass(frozen=True)
class LoadedSpec:
    """A config that fits the schema, with where its values came from.

    `schema_problems` is non-empty only for a spec repaired to run the other checks: the
    offending keys were dropped so their defaults apply. Such a spec is never compiled.
    """

    spec: ExperimentSpec
    composed: Composed
    schema_problems: tuple[Problem, ...] = ()
    dropped: tuple[KeyPath, ...] = ()

    @property
    def dropped_hyperparameters(self) -> frozenset[str]:
        """Hyperparameters set aside by repair: references to them are not reported again."""
        return frozenset(str(p[1]) for p in self.dropped if len(p) >= 2 and p[0] == "hyperparameters")


MAX_REPAIRS = 5


def load_spec(composed: Composed, repair: bool = False) -> LoadedSpec:
    """Validate; with `repair`, drop keys with schema errors and retry, so that the semantic
    checks still run and every problem is reported at once."""
    data = copy.deepcopy(composed.config)
    found: list[Problem] = []
    dropped: list[KeyPath] = []
    for _ in range(MAX_REPAIRS + 1):
        try:
            spec = ExperimentSpec.model_validate(data)
        except ValidationError as e:
            new = [_problem(err, data) for err in e.errors(include_url=False)]
            # A key set aside comes back as "missing" (or its parent as "has no type"): that
            # is the same mistake, already reported.
            found += [p for p in new if not any(_overlaps(p.path, d) for d in dropped)]
            paths = [p.path for p in new]
            if not repair or not _drop(data, paths):
                break
            dropped += paths
            continue
        if not found:
            return LoadedSpec(spec, composed)
        return LoadedSpec(spec, composed, tuple(_located(found, composed)), tuple(dropped))
    raise ConfigError(_located(found, composed))


def _overlaps(a: KeyPath, b: KeyPath) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _located(found: list[Problem], composed: Composed) -> list[Problem]:
    unique = list({(p.path, p.code, p.message): p for p in found}.values())
    return [p.located(composed.sources.lookup(p.path)) for p in unique]


def _drop(data: dict[str, Any], paths: list[KeyPath]) -> bool:
    """Remove each offending key (so its default applies); False if one cannot be removed."""
    for path in paths:
        if not path:
            return False
        node: Any = data
        for key in path[:-1]:
            found = (isinstance(node, dict) and key in node) or (
                isinstance(node, list) and isinstance(key, int) and key < len(node)
            )
            if not found:
                return False
            node = node[key]
        last = path[-1]
        if isinstance(node, dict) and last in node:
            del node[last]
        else:
            return False
    return True


# ---------------------------------------------------------------- locations without union tags


def _data_path(loc: tuple[Any, ...], data: Any) -> KeyPath:
    """Pydantic's loc minus what is not a key in the data (union tags, validator names)."""
    out: list[str | int] = []
    node = data
    for i, elem in enumerate(loc):
        is_last = i == len(loc) - 1
        if (isinstance(node, dict) and elem in node) or (
            isinstance(node, list) and isinstance(elem, int) and elem < len(node)
        ):
            out.append(elem)
            node = node[elem]
        elif isinstance(elem, str) and (
            "[" in elem
            or (isinstance(node, dict) and node.get("type") == elem)
            or (isinstance(node, dict) and elem in ("int", "float", "choice", "boolean", "fixed"))
        ):
            continue
        elif is_last or isinstance(node, dict):
            out.append(elem)
            node = None
    return tuple(out)


# ---------------------------------------------------------------- one error → one problem


def _owner_type(data: Any, path: KeyPath) -> str | None:
    """The `type:` of the layer holding the value at `path`, when that is a wrapper's `layer:`."""
    if not path or path[-1] != "layer":
        return None
    node = data
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    owner = node.get("type") if isinstance(node, dict) else None
    return owner if isinstance(owner, str) and owner in REGISTRY else None


def _close(word: object, options: list[str]) -> str:
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.5)
    return f"did you mean `{close[0]}`? " if close else ""


def _problem(err: Any, data: dict[str, Any]) -> Problem:
    loc: tuple[Any, ...] = tuple(err["loc"])
    path = _data_path(loc, data)
    key = clip(format_path(path), 200)
    kind: str = err["type"]
    given = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        model, fields = allowed_at(loc[:-1])
        owner = f" in {model.__name__.rstrip('_')}" if model else ""
        return pb.error(
            "unknown-key",
            path,
            f"unknown key `{clip(loc[-1])}`{owner} (at {key})",
            _close(loc[-1], fields) + (f"allowed keys: {', '.join(fields)}" if fields else "remove it"),
        )
    if kind == "missing":
        return pb.error(
            "missing-key",
            path,
            f"`{key}` is required but not set",
            f"add `{clip(loc[-1])}:` here, or set it on the command line with `{key}=VALUE`",
        )
    if kind == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        wrapper = _owner_type(data, path)
        if wrapper is not None and ctx.get("tag") in (*REGISTRY, "repeat"):
            return pb.error(
                "layer-not-wrappable",
                (*path, "type"),
                f"{wrapper} cannot wrap a `{clip(ctx.get('tag'))}` layer (at {key})",
                f"{wrapper} wraps one of: {', '.join(tags)}",
            )
        what = "layer type" if "layers" in path else "type"
        code = "unknown-layer" if what == "layer type" else "unknown-type"
        return pb.error(
            code,
            (*path, "type"),
            f"`{clip(ctx.get('tag'))}` is not a {what} ktrun knows (at {key})",
            _close(ctx.get("tag"), tags) + f"allowed: {', '.join(tags)}",
        )
    if kind == "union_tag_not_found":
        return pb.error(
            "missing-type",
            path,
            f"`{key}` has no `type:`",
            "add `type:` (for a layer: Dense, Conv2D, ...; for a hyperparameter: int, float, "
            "choice, boolean, fixed)",
        )
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
        return pb.error(
            "invalid-value",
            path,
            f"{key} = {clip(repr(given))} is not allowed",
            _close(given, options) + f"expected {expected}",
        )
    if kind.startswith(("greater_than", "less_than", "too_short", "too_long")):
        return pb.error(
            "value-out-of-range",
            path,
            f"{key} = {clip(repr(given))}: {err['msg'].lower()}",
            "change the value to fit the range (see the schema's description of this key)",
        )
    if kind == "string_pattern_mismatch":
        return pb.error(
            "invalid-name",
            path,
            f"{key} = {clip(repr(given))} is not a valid name",
            "use letters, digits and underscores, starting with a letter",
        )
    if kind == "hypermodel_with_layers":
        return pb.error(
            "hypermodel-with-layers",
            path,
            err["msg"],
            "remove them (a model group's layers come in through the defaults list: add "
            "`- override /model: none`), or drop model.hypermodel to build your own layers",
        )
    if kind == "bad_reference":
        return pb.error("bad-reference", path, err["msg"], "references look like `$units_1`")
    return pb.error(
        "wrong-type",
        path,
        f"{key}: {err['msg']} (got {clip(repr(given))})" if kind != "arg_type" else f"{key}: {err['msg']}",
        "YAML reads `3` as a number and `'3'` as text; write the value without quotes"
        if isinstance(given, str)
        else "give a value of the expected type",
    )
