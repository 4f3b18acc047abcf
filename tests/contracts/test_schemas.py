"""Committed JSON Schemas are exactly what the models generate, and they round-trip."""

from __future__ import annotations

import json

from ktrun.config import schema_export as schema_gen
from ktrun.pipeline import check_one
from tests.conftest import REPO, run_cli, schema_validator


def test_committed_schemas_are_fresh() -> None:
    assert schema_gen.stale(REPO / "schemas") == [], "run `make schemas` and commit schemas/"


def test_schema_check_command_fails_when_stale(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path))
    schema_gen.write(out)
    (out / "tuner.schema.json").write_text("{}\n")
    proc = run_cli("schema", "--check", "--out", str(out))
    assert proc.returncode == 2
    assert "tuner.schema.json" in proc.stderr and "make schemas" in proc.stderr


def test_composed_experiments_validate_against_the_full_schema() -> None:
    validator = schema_validator(REPO / "schemas" / "experiment.schema.json")
    for name in ("mnist_cnn", "digits_cnn", "fashion_mnist_cnn"):
        report = check_one([f"+experiment={name}"])
        assert report.checked is not None
        dumped = report.checked.spec.model_dump(mode="json", exclude_none=True)
        validator.validate(dumped)


def test_spec_round_trips_through_json() -> None:
    from ktrun.spec.experiment import ExperimentSpec

    report = check_one(["+experiment=fashion_mnist_cnn"])
    assert report.checked is not None
    spec = report.checked.spec
    again = ExperimentSpec.model_validate(json.loads(spec.model_dump_json()))
    assert again == spec
