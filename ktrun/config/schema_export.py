"""JSON Schemas generated from the Pydantic models, committed under `schemas/` for editors.

The composed experiment has a strict schema; files in config groups are fragments (an experiment
overlay sets only what it changes), so their schema is the same one with nothing required, plus
Hydra's `defaults` list.

The schemas hold the same bounds and names as `ktrun check` wherever JSON Schema can say them:
each argument's literal value is narrowed by the check's own domain (`ktrun.spec.domains`, each
layer type's `domains`), so `epochs: 0`, `filters: 0` or `optimizer: adma` are flagged in the
editor too. A `$name` reference or an expression stays open (the check judges the values it
can take). Loss and metric names are Keras' own unless the file declares its own under
`custom_objects`, which JSON Schema can say only as a condition at the top.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ktrun.layers import REGISTRY
from ktrun.layers import repeat as repeat_block
from ktrun.layers.base import ConstraintSpec, InitializerSpec, Regularizer
from ktrun.spec import keras_names as kn
from ktrun.spec.domains import (
    ACTIVATION,
    FIT_ARGS,
    LOSS_ARGS,
    METRIC_ARGS,
    OPTIMIZER_ARGS,
    SCHEDULE_ARGS,
    Domain,
)
from ktrun.spec.experiment import DataSpec, ExperimentSpec, FailurePolicySpec, TunerSpec
from ktrun.spec.refs import REF_PATTERN

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DEFAULTS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Hydra defaults list, e.g. `- override /data: mnist`.",
    "items": {"anyOf": [{"type": "string"}, {"type": "object"}]},
}


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    _narrow_defs(schema)
    return {"$schema": DIALECT, "title": title, **{k: v for k, v in schema.items() if k != "title"}}


def domains() -> dict[str, Mapping[str, Domain]]:
    """The check's domains, by the name of the model (its `$defs` entry) whose keys they judge."""
    out: dict[str, Mapping[str, Domain]] = {t.spec.__name__: t.domains for t in REGISTRY.values()}
    out.update(
        {
            "Repeat": repeat_block.DOMAINS,
            "InitializerSpec": InitializerSpec.DOMAINS,
            "ConstraintSpec": ConstraintSpec.DOMAINS,
            "Regularizer": Regularizer.DOMAINS,
            "OptimizerSpec": OPTIMIZER_ARGS,
            "OptimizerArguments": OPTIMIZER_ARGS,
            "ScheduleSpec": SCHEDULE_ARGS,
            "LossSpec": LOSS_ARGS,
            "MetricSpec": METRIC_ARGS,
            "FitSpec": FIT_ARGS,
        }
    )
    return out


def _narrow_defs(schema: dict[str, Any]) -> None:
    defs: dict[str, Any] = schema.get("$defs", {})
    for name, table in domains().items():
        model = defs.get(name)
        if model is None:
            continue  # not part of this schema (a group's schema holds only its own models)
        props = model.get("properties", {})
        for key, domain in table.items():
            if key in props and domain is not ACTIVATION:  # yours are names too (custom_objects)
                _narrow(props[key], domain)
    optimizer = defs.get("OptimizerSpec")
    if optimizer is not None:  # `per_optimizer: {rmsprop: {...}}`: keys are optimizer names
        optimizer["properties"]["per_optimizer"]["propertyNames"] = {"enum": list(kn.OPTIMIZERS)}


def _narrow(node: Any, domain: Domain) -> None:
    """Every literal (number, or name) in an argument's schema held to the check's domain;
    references (`$name`, a pattern) and expressions (numbers' strings) stay as they are."""
    if isinstance(node, list):
        for item in node:
            _narrow(item, domain)
        return
    if not isinstance(node, dict) or "$ref" in node:
        return
    kind = node.get("type")
    if kind in ("integer", "number") and domain.kind in ("int", "float", "count"):
        if domain.lo is not None:
            node["exclusiveMinimum" if domain.lo_open else "minimum"] = _number(domain.lo)
        if domain.hi is not None:
            node["exclusiveMaximum" if domain.hi_open else "maximum"] = _number(domain.hi)
    elif (
        domain.kind == "str"
        and domain.names is not None
        and ("enum" in node or (kind == "string" and "pattern" not in node))
    ):
        node.pop("type", None)
        node["enum"] = list(domain.names)
    for key in ("anyOf", "oneOf", "allOf", "items", "prefixItems"):
        if key in node:
            _narrow(node[key], domain)


def _number(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def _without_own(section: str) -> dict[str, Any]:
    """The config declares nothing under `custom_objects.<section>`."""
    return {
        "not": {
            "required": ["custom_objects"],
            "properties": {
                "custom_objects": {
                    "required": [section],
                    "properties": {section: {"type": "object", "minProperties": 1}},
                }
            },
        }
    }


#: Every `activation:` anywhere under `model` (layers, repeats, wrappers, `first`/`last`) is a
#: Keras activation or `$name`; a `type: custom` layer's own keys are its constructor's.
KERAS_ACTIVATIONS: dict[str, Any] = {
    "if": {"type": "object", "required": ["type"], "properties": {"type": {"const": "custom"}}},
    "then": {"additionalProperties": {"$ref": "#/$defs/KerasActivationsOnly"}},
    "else": {
        "properties": {
            "activation": {
                "anyOf": [
                    {"enum": list(kn.ACTIVATIONS)},
                    {"type": "string", "pattern": REF_PATTERN},
                    {"not": {"type": "string"}},
                ]
            }
        },
        "additionalProperties": {"$ref": "#/$defs/KerasActivationsOnly"},
    },
    "items": {"$ref": "#/$defs/KerasActivationsOnly"},
}


def _names_unless_custom(section: str, names: list[str]) -> dict[str, Any]:
    """The `then` of a top-level condition: without `custom_objects.<section>`, every loss (or
    metric) named in `model.compile` and `model.outputs` is Keras' own."""
    one = {
        "anyOf": [
            {"type": "string", "enum": names},
            {"type": "object", "properties": {"name": {"enum": names}}},
            {"type": "null"},
        ]
    }
    key = "loss" if section == "losses" else "metrics"
    value = one if key == "loss" else {"anyOf": [{"type": "array", "items": one}, {"type": "null"}]}
    per_output = {"anyOf": [{"type": "string"}, {"type": "object", "properties": {key: value}}]}
    return {
        "if": _without_own(section),
        "then": {
            "properties": {
                "model": {
                    "properties": {
                        "compile": {"properties": {key: value}},
                        "outputs": {"type": "array", "items": per_output},
                    }
                }
            }
        },
    }


def _known_names(schema: dict[str, Any]) -> dict[str, Any]:
    """Loss, metric and activation names checked as `ktrun check` does: Keras' own, or the
    file's own."""
    schema["$defs"]["KerasActivationsOnly"] = {
        "description": "Without custom_objects.activations, every activation is Keras' own.",
        **KERAS_ACTIVATIONS,
    }
    schema["allOf"] = [
        _names_unless_custom("losses", list(kn.LOSSES)),
        _names_unless_custom("metrics", list(kn.METRICS)),
        {
            "if": _without_own("activations"),
            "then": {"properties": {"model": {"$ref": "#/$defs/KerasActivationsOnly"}}},
        },
    ]
    return schema


def _relaxed(schema: dict[str, Any]) -> dict[str, Any]:
    """Nothing required, anywhere: an overlay sets only some keys; the composed config is checked."""
    out = copy.deepcopy(schema)

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("required", None)
            for v in node.values():
                strip(v)
            for key in ("oneOf", "anyOf"):
                # Branches that differed only in what they required (model: layers or hypermodel)
                # are all empty now, and an empty `oneOf` branch list would accept nothing.
                if key in node and all(branch == {} for branch in node[key]):
                    del node[key]
        elif isinstance(node, list):
            for v in node:
                strip(v)

    strip(out)
    out["properties"] = {
        "defaults": _DEFAULTS_SCHEMA,
        "hydra": {
            "type": "object",
            "description": "Hydra's own settings; ktrun takes only hydra.run.dir, hydra.sweep.dir, "
            "hydra.sweep.subdir and hydra.launcher.n_jobs from a config.",
        },
        **out["properties"],
    }
    return out


def schemas() -> dict[str, dict[str, Any]]:
    full = _schema(ExperimentSpec, "ktrun experiment (composed)")
    overlay = _known_names(_relaxed(full))
    overlay["title"] = "ktrun config file (primary config, experiment or model overlay)"
    full = _known_names(full)
    return {
        "experiment.schema.json": full,
        "experiment-overlay.schema.json": overlay,
        "data.schema.json": _relaxed(_schema(DataSpec, "ktrun data config group")),
        "tuner.schema.json": _relaxed(_schema(TunerSpec, "ktrun tuner config group")),
        "failure_policy.schema.json": _relaxed(
            _schema(FailurePolicySpec, "ktrun failure_policy config group")
        ),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def default_dir() -> Path:
    here = Path(__file__).resolve().parents[1]  # the ktrun package
    for candidate in (here.parent / "schemas", here / "schemas"):
        if candidate.is_dir():
            return candidate
    return here.parent / "schemas"


def write(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = out_dir / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def stale(out_dir: Path) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    return [
        name
        for name, schema in schemas().items()
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != render(schema)
    ]
