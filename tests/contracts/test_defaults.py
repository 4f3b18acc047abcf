"""Defaults live in one place: the Pydantic models. `conf/` may only repeat them, or change what
its option exists to change (listed in `DELIBERATE`, each with why).

Written twice, a default drifts: a user reading `conf/failure_policy/default.yaml` must see what
`failure_policy` means when it is left out, and the JSON Schema's defaults must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from ktrun.spec.experiment import ExperimentSpec
from tests.conftest import CONF

#: (file, key path) → why this option sets its own value.
DELIBERATE: dict[tuple[str, str], str] = {
    **{
        (f"tuner/{a}.yaml", "algorithm"): "the option is the algorithm"
        for a in ("bayesian", "grid", "hyperband", "tpe", "cmaes", "nsga2")
    },
    **{
        (
            f"tuner/{a}.yaml",
            "max_trials",
        ): "a model-based sampler needs trials to learn from after its random start"
        for a in ("tpe", "cmaes", "nsga2")
    },
    ("tuner/grid.yaml", "max_trials"): "a grid tries every point: a larger cap",
    ("tuner/hyperband.yaml", "max_trials"): "Hyperband's brackets need more trials than random search",
    **{
        ("failure_policy/strict.yaml", k): "strict aborts on every failure"
        for k in ("build_error", "nan", "oom", "timeout", "crash", "max_retries", "max_consecutive_failures")
    },
    ("failure_policy/strict.yaml", "max_failed_fraction"): "strict stops at the first failure instead",
    **{
        ("failure_policy/tolerant.yaml", k): "tolerant keeps going"
        for k in ("other", "max_retries", "max_consecutive_failures", "max_failed_fraction")
    },
    **{
        (f"data/{s}.yaml", "source"): "the option is the source"
        for s in ("mnist", "fashion_mnist", "cifar10", "npz", "csv", "custom", "image_folder", "shards")
    },
    ("data/custom.yaml", "normalize"): "your loader returns the values it means: none rescaled",
    **{(f"data/{s}.yaml", "normalize"): "tabular features are standardised" for s in ("npz", "csv")},
    ("data/shards.yaml", "normalize"): "arrays of any kind, as npz's: standardised",
    ("config.yaml", "experiment.name"): "required: the default search's name",
    ("config.yaml", "experiment.description"): "the default search's description",
}
#: Sections the primary config sets that have no schema of their own in these files.
SKIP_KEYS = ("defaults", "hydra")


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, (*path, str(k)))
    else:
        yield path, node


def _default(model: type[BaseModel], path: tuple[str, ...]) -> Any:
    """The schema's default at `path`, walking the model classes (a required section such as
    `experiment` has no default of its own, but its fields do); `REQUIRED` where there is none."""
    field = model.model_fields[path[0]]
    if len(path) > 1:
        inner = field.annotation
        assert isinstance(inner, type) and issubclass(inner, BaseModel), (model, path)
        return _default(inner, path[1:])
    if field.is_required():
        return REQUIRED
    value = field.get_default(call_default_factory=True)
    return value.model_dump() if isinstance(value, BaseModel) else value


REQUIRED = object()


def _cases() -> Iterator[tuple[str, str, Any]]:
    groups = {"tuner": "tuner", "failure_policy": "failure_policy", "data": "data"}
    for group, section in groups.items():
        for f in sorted((CONF / group).glob("*.yaml")):
            for path, value in _leaves(yaml.safe_load(f.read_text(encoding="utf-8")) or {}):
                yield f"{group}/{f.name}", ".".join((section, *path)), value
    primary = yaml.safe_load((CONF / "config.yaml").read_text(encoding="utf-8"))
    for path, value in _leaves({k: v for k, v in primary.items() if k not in SKIP_KEYS}):
        yield "config.yaml", ".".join(path), value


CASES = list(_cases())


@pytest.mark.parametrize(("file", "key", "value"), CASES, ids=[f"{f}:{k}" for f, k, _ in CASES])
def test_conf_repeats_the_schema_default(file: str, key: str, value: Any) -> None:
    section, *rest = key.split(".")
    default = _default(ExperimentSpec, (section, *rest))
    deliberate = DELIBERATE.get((file, ".".join(rest) if file != "config.yaml" else key))
    if default is REQUIRED:
        assert deliberate, f"{file}: {key} has no schema default; say why conf sets it in DELIBERATE"
    elif deliberate:
        assert value != default, f"{file}: {key} is listed as deliberate ({deliberate}) but is the default"
    else:
        assert value == default, f"{file}: {key} = {value!r}, but the schema's default is {default!r}"


def test_every_deliberate_difference_is_still_there() -> None:
    seen = {(f, k if f == "config.yaml" else k.split(".", 1)[1]) for f, k, _ in CASES}
    assert set(DELIBERATE) <= seen, sorted(set(DELIBERATE) - seen)
