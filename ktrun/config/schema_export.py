"""JSON Schemas generated from the Pydantic models, committed under `schemas/` for editors.

The composed experiment has a strict schema; files in config groups are fragments (an experiment
overlay sets only what it changes), so their schema is the same one with nothing required, plus
Hydra's `defaults` list.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ktrun.spec.experiment import DataSpec, ExperimentSpec, FailurePolicySpec, TunerSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DEFAULTS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Hydra defaults list, e.g. `- override /data: mnist`.",
    "items": {"anyOf": [{"type": "string"}, {"type": "object"}]},
}


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    return {"$schema": DIALECT, "title": title, **{k: v for k, v in schema.items() if k != "title"}}


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
        "hydra": {"type": "object"},
        **out["properties"],
    }
    return out


def schemas() -> dict[str, dict[str, Any]]:
    full = _schema(ExperimentSpec, "ktrun experiment (composed)")
    overlay = _relaxed(full)
    overlay["title"] = "ktrun config file (primary config, experiment or model overlay)"
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
