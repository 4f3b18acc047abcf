"""Every shipped config composes, validates and checks clean: no shipped config rots."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ktrun.config.compose import experiment_names
from ktrun.pipeline import check_one
from tests.conftest import CONF, REPO, schema_validator

EXPERIMENTS = experiment_names(CONF)


def test_the_issue_s_experiments_are_shipped() -> None:
    assert {"digits_mlp", "digits_cnn", "mnist_cnn", "fashion_mnist_cnn"} <= set(EXPERIMENTS)


@pytest.mark.parametrize(
    "overrides", [[]] + [[f"+experiment={n}"] for n in EXPERIMENTS], ids=["defaults", *EXPERIMENTS]
)
def test_checks_clean(overrides: list[str]) -> None:
    report = check_one(overrides)
    assert [(p.code, p.key, p.message) for p in report.problems] == []
    assert report.checked is not None


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband", "grid"])
def test_every_tuner_group_checks_clean_on_the_default(tuner: str) -> None:
    grid = ["+hyperparameters.learning_rate.step=2"] if tuner == "grid" else []
    report = check_one([f"tuner={tuner}", *grid])
    assert report.errors == [], [p.message for p in report.errors]


def test_mnist_cnn_keeps_the_acceptance_names() -> None:
    report = check_one(["+experiment=mnist_cnn"])
    assert report.checked is not None
    spec = report.checked.spec
    assert set(spec.hyperparameters) == {
        "filters_1",
        "kernel_1",
        "filters_2",
        "units_1",
        "units_2",
        "dropout",
        "learning_rate",
    }
    assert spec.hyperparameters["kernel_1"].type == "choice"
    assert spec.hyperparameters["learning_rate"].sampling == "log"  # type: ignore[union-attr]
    assert spec.constraints == ["units_2 <= units_1"]
    assert spec.objective.name == "val_accuracy" and spec.data.validation_split > 0
    assert [layer.type for layer in spec.model.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
        "Dense",
    ]


def _yaml_files() -> list[Path]:
    return sorted(CONF.rglob("*.yaml"))


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(CONF)))
def test_yaml_files_declare_a_schema_that_accepts_them(path: Path) -> None:
    """Editors validate with the schema line; it must sit below `# @package` and accept the file."""
    lines = path.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")][:4]
    schema_lines = [line for line in lines if line.startswith("# yaml-language-server: $schema=")]
    if path.name == "none.yaml":
        return
    assert len(schema_lines) == 1, f"{path} has no yaml-language-server schema line"
    if lines[0].startswith("# @package") is False and any("@package" in h for h in header):
        pytest.fail("# @package must be the first line, or Hydra ignores it")
    if any("@package" in line for line in lines):
        assert lines[0].startswith("# @package"), "Hydra reads # @package only on the first lines"
    schema_path = (path.parent / schema_lines[0].split("=", 1)[1]).resolve()
    assert schema_path.is_relative_to(REPO / "schemas") and schema_path.is_file()
    data = yaml.safe_load(path.read_text()) or {}
    schema_validator(schema_path).validate(data)
