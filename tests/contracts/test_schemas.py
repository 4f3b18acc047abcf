"""Committed JSON Schemas are exactly what the models generate, and they round-trip."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ktrun.config import schema_export as schema_gen
from ktrun.pipeline import check_one
from tests.conftest import REPO, run_cli, schema_validator


def test_committed_schemas_are_fresh() -> None:
    assert schema_gen.stale(REPO / "schemas") == [], "run `make schemas` and commit schemas/"


def test_schema_check_command_fails_when_stale(tmp_path: object) -> None:
    out = Path(str(tmp_path))
    schema_gen.write(out)
    (out / "tuner.schema.json").write_text("{}\n")
    proc = run_cli("schema", "--check", "--out", str(out))
    assert proc.returncode == 2
    assert "tuner.schema.json" in proc.stderr and "make schemas" in proc.stderr


PUBLISHED = REPO / "examples" / "published"


@pytest.mark.slow  # checks every shipped experiment, about a minute on two cores
def test_composed_experiments_validate_against_the_full_schema() -> None:
    """Every shipped experiment as composed and checked, but the HyperModel ones: their spec
    carries the `layers: []` the model fills in, which a config never says with `hypermodel`."""
    from ktrun.config.compose import experiment_names

    validator = schema_validator(REPO / "schemas" / "experiment.schema.json")
    runs = [([f"+experiment={n}"], []) for n in experiment_names()]
    runs += [([f"+experiment={n}"], [PUBLISHED]) for n in experiment_names(PUBLISHED)]
    validated = 0
    for overrides, extra in runs:
        report = check_one(overrides, extra=extra)
        spec = report.checked.spec if report.checked is not None else None
        assert spec is not None, (overrides, report.errors)
        if spec.model.hypermodel is not None:
            continue
        validator.validate(spec.model_dump(mode="json", exclude_none=True))
        validated += 1
    assert validated >= 40  # the published searches but the HyperModel ones, and conf/'s


def test_spec_round_trips_through_json() -> None:
    from ktrun.spec.experiment import ExperimentSpec

    report = check_one(["+experiment=fashion_mnist_cnn"])
    assert report.checked is not None
    spec = report.checked.spec
    again = ExperimentSpec.model_validate(json.loads(spec.model_dump_json()))
    assert again == spec


# ---------------------------------------------------------------- complete: described, bounded, named

SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)
BAD = REPO / "tests" / "fixtures" / "bad" / "experiment"
#: Bad fixtures whose mistake JSON Schema can say, so an editor flags it as `check` does (unknown
#: keys and names, wrong types, literal values outside the check's own bounds). The others are
#: mistakes of meaning (shapes, references, constraints, data) or of values a `$name` takes,
#: which only `check` can see.
SCHEMA_REJECTS = {
    "backbone_unknown_application",
    "bidirectional_not_recurrent",
    "constraint_unknown",
    "cross_validation_one_fold",
    "early_stopping_negative_patience",
    "epochs_zero",
    "failure_policy_invalid_action",
    "ftrl_power_positive",
    "hostile_empty_choice",
    "hostile_empty_kernel_list",
    "hostile_nested_nonsense",
    "hostile_units_10e30",
    "hostile_units_1e308",
    "hp_step_negative_float",
    "hp_step_zero",
    "invalid_experiment_name",
    "invalid_padding",
    "invalid_value_labels",
    "invalid_value_tuner_algorithm",
    "learning_rate_literal_zero",
    "missing_hp_type",
    "negative_units_literal",
    "per_optimizer_unknown",
    "regularizer_negative",
    "schedule_decay_steps_zero",
    "tracking_uri_credentials",
    "unknown_activation",
    "unknown_hp_type",
    "unknown_initializer",
    "unknown_key_early_stopping",
    "unknown_key_hyperparameter",
    "unknown_key_layer_arg",
    "unknown_key_optimizer",
    "unknown_key_top_level",
    "unknown_key_tuner",
    "unknown_layer",
    "unknown_loss",
    "unknown_metric",
    "unknown_optimizer",
    "unknown_schedule",
    "wrapped_dropout_one",
    "wrong_type_fit_section",
    "wrong_type_hp_min",
}
#: Not YAML data at all: the YAML loader refuses them before any schema could.
NOT_YAML = {"yaml_python_tag", "yaml_syntax_error"}


#: Subschemas that only restrict what other parts declare (the top-level name conditions).
CONDITIONS = ("if", "then", "else", "not")


def _undescribed(node: object, path: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            out += [f"{path}.{k}" for k, v in props.items() if isinstance(v, dict) and "description" not in v]
        for k, v in node.items():
            if k not in CONDITIONS:
                out += _undescribed(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _undescribed(v, f"{path}[{i}]")
    return out


@pytest.mark.parametrize("name", sorted(schema_gen.schemas()))
def test_every_property_has_a_description(name: str) -> None:
    assert _undescribed(schema_gen.schemas()[name]) == []


def _errors(schema: Path, data: object) -> list[str]:
    validator = schema_validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(data)]


SHIPPED = sorted(
    p
    for p in [*(REPO / "conf").rglob("*.yaml"), *(REPO / "examples").rglob("*.yaml")]
    if p.read_text().strip()
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_validates_against_the_schema_it_names(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    m = SCHEMA_LINE.search(text)
    data = yaml.safe_load(text)
    if m is None:  # an empty group option (`model: none`)
        assert data is None, f"{path} has keys but no schema line"
        return
    schema = (path.parent / m.group(1)).resolve()
    assert schema.parent == (REPO / "schemas").resolve()
    assert _errors(schema, data or {}) == []


def test_the_bad_config_fixtures_the_schema_rejects_are_exactly_those_it_can_see() -> None:
    overlay = REPO / "schemas" / "experiment-overlay.schema.json"
    rejected, unreadable = set(), set()
    for path in sorted(BAD.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            unreadable.add(path.stem)
            continue
        if _errors(overlay, data or {}):
            rejected.add(path.stem)
    assert unreadable == NOT_YAML
    assert sorted(rejected - SCHEMA_REJECTS) == [], "newly rejected: is the schema stricter than check?"
    assert sorted(SCHEMA_REJECTS - rejected) == [], "no longer rejected: the schema lost a bound or name"


# (what the experiment changes from a plain digits MLP, the problem code `check` gives or None when
# it passes): the schema flags exactly what check flags, for values JSON Schema can judge.
def _mlp(*hidden: dict[str, object]) -> dict[str, object]:
    return {"layers": [{"type": "Flatten"}, *hidden, {"type": "Dense", "units": 10, "activation": "softmax"}]}


AGREE: list[tuple[dict[str, Any], str | None]] = [
    ({"fit": {"epochs": 0}}, "arg-out-of-range"),
    ({"fit": {"epochs": 1}}, None),
    ({"fit": {"batch_size": 0}}, "arg-out-of-range"),
    ({"fit": {"epochs": "$e"}, "hyperparameters": {"e": {"type": "int", "min": 1, "max": 3}}}, None),
    ({"model": _mlp({"type": "Dense", "units": 0})}, "arg-out-of-range"),
    ({"model": _mlp({"type": "Dense", "units": 8})}, None),
    ({"model": _mlp({"type": "Dropout", "rate": 1.0})}, "arg-out-of-range"),
    ({"model": _mlp({"type": "Dropout", "rate": 0.5})}, None),
    ({"model": {"compile": {"optimizer": {"name": "adma"}}}}, "unknown-optimizer"),
    ({"model": {"compile": {"optimizer": {"name": "adamw", "weight_decay": 0.01}}}}, None),
    ({"model": {"compile": {"optimizer": {"name": "sgd", "momentum": 1.0}}}}, "arg-out-of-range"),
    ({"model": {"compile": {"loss": "sparse_categorical_crosentropy"}}}, "unknown-loss"),
    ({"model": {"compile": {"metrics": ["accuracy", "acuracy"]}}}, "unknown-metric"),
    (
        {
            "model": {
                "compile": {"metrics": ["accuracy", {"name": "sparse_top_k_categorical_accuracy", "k": 0}]}
            }
        },
        "arg-out-of-range",
    ),
    ({"report": {"mlflow": {"tracking_uri": "sqlite:///mlflow.db"}}}, None),
    ({"report": {"mlflow": {"tracking_uri": "https://mlflow.example.org:5000"}}}, None),
    ({"report": {"mlflow": {"tracking_uri": "mlruns"}}}, "tracking-uri-invalid"),
    ({"report": {"mlflow": {"tracking_uri": "postgresql://db/mlflow"}}}, "tracking-uri-invalid"),
]


def _merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in change.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.mark.parametrize(("change", "code"), AGREE)
def test_the_schema_and_check_agree(tmp_conf: Path, change: dict[str, Any], code: str | None) -> None:
    base = {
        "experiment": {"name": "case"},
        "model": {
            **_mlp({"type": "Dense", "units": 16, "activation": "relu"}),
            "compile": {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
        },
    }
    data = _merged(base, change)
    header = "# @package _global_\ndefaults:\n  - override /data: digits\n  - override /model: none\n"
    (tmp_conf / "experiment" / "case.yaml").write_text(header + yaml.safe_dump(data), encoding="utf-8")
    report = check_one(["+experiment=case"], extra=[tmp_conf])
    assert [p.code for p in report.errors] == ([code] if code else []), report.errors
    errors = _errors(REPO / "schemas" / "experiment-overlay.schema.json", data)
    assert bool(errors) == (code is not None), errors


def test_your_own_losses_metrics_and_activations_are_names_the_schema_accepts() -> None:
    """A name under custom_objects.losses / metrics / activations is one `check` accepts, so the
    schema does; without them, only Keras' own."""
    own = {
        "custom_objects": {
            "losses": {"my_loss": "m:f"},
            "metrics": {"my_metric": "m:g"},
            "activations": {"my_act": "m:h"},
        },
        "model": {
            "layers": [
                {
                    "type": "repeat",
                    "times": 2,
                    "layers": [{"type": "Dense", "units": 4, "activation": "my_act"}],
                },
                {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 4, "activation": "my_act"}},
                {"type": "custom", "layer": "mine", "activation": "anything"},  # its constructor's
            ],
            "compile": {"loss": "my_loss", "metrics": ["accuracy", "my_metric"]},
        },
    }
    overlay = REPO / "schemas" / "experiment-overlay.schema.json"
    assert _errors(overlay, own) == []
    errors = _errors(overlay, {"model": own["model"]})
    assert len(errors) == 4, errors  # the loss, the metric, both activations (not the custom layer)
