"""Custom layers: only through `custom_objects` (the opt-in), never imported by `ktrun check`.

A class of the user's own is the one place a config makes ktrun import Python code. The check
finds the module without running it; the first model build imports it; the search then trains it
like any other layer, references and all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ktrun.checks import CheckReport
from ktrun.pipeline import check_one, run_experiment
from tests.conftest import CONF

MODULE = """
import pathlib

pathlib.Path(__file__).with_name("imported.txt").write_text("imported")

import keras


@keras.saving.register_keras_serializable(package="ktrun_test")
class ScaledDense(keras.layers.Layer):
    def __init__(self, units, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale
        self.dense = keras.layers.Dense(units, activation="relu")

    def call(self, x):
        return self.dense(x) * self.scale

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}
"""


def experiment(conf: Path, layer: str = "ScaledDense", module: str = "ktrun_test_layers") -> None:
    code = conf / "code"
    code.mkdir(exist_ok=True)
    (code / "ktrun_test_layers.py").write_text(MODULE)
    (conf / "experiment" / "custom.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: custom}}
custom_objects:
  paths: [{code}]
  layers: {{ScaledDense: "{module}:ScaledDense"}}
hyperparameters:
  units: {{type: choice, values: [8, 16]}}
  scale: {{type: float, min: 0.5, max: 1.0}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: custom, layer: {layer}, units: $units, scale: $scale, output_shape: [$units]}}
    - {{type: Dense, units: 10, activation: softmax}}
"""
    )


def codes(report: CheckReport) -> set[str]:
    return {p.code for p in report.problems}


def test_check_finds_the_module_without_importing_it(tmp_conf: Path) -> None:
    experiment(tmp_conf)
    sys.modules.pop("ktrun_test_layers", None)  # the slow test, run first, imports it
    report = check_one(["+experiment=custom"], extra=[tmp_conf])
    assert not report.errors, [p.message for p in report.problems]
    assert report.checked is not None
    trace = report.checked.feasibility.reference_trace
    assert trace is not None and trace.output == (10,)  # shapes checked through the declaration
    assert "ktrun_test_layers" not in sys.modules
    assert not (tmp_conf / "code" / "imported.txt").exists()


@pytest.mark.parametrize(
    ("layer", "module", "code", "hint"),
    [
        ("ScaledDens", "ktrun_test_layers", "custom-layer-undeclared", "did you mean `ScaledDense`"),
        ("ScaledDense", "no_such_module_anywhere", "custom-module-not-found", "custom_objects.paths"),
    ],
)
def test_undeclared_or_missing_custom_objects_are_errors(
    tmp_conf: Path, layer: str, module: str, code: str, hint: str
) -> None:
    experiment(tmp_conf, layer, module)
    report = check_one(["+experiment=custom"], extra=[tmp_conf])
    problem = next(p for p in report.errors if p.code == code)
    assert hint in problem.hint and problem.location is not None
    assert not (tmp_conf / "code" / "imported.txt").exists()


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.usefixtures("no_plots")
def test_a_search_trains_the_custom_layer(tmp_conf: Path) -> None:
    experiment(tmp_conf)
    run_dir = tmp_conf / "run"
    rc = run_experiment(
        [
            "+experiment=custom",
            "data.limit=300",
            "fit.epochs=1",
            "tuner.max_trials=2",
            f"tuner.state_dir={tmp_conf / 'state'}",
        ],
        CONF,
        [tmp_conf],
        run_dir,
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0 and summary["trials"]["completed"] == 2, summary
    assert (tmp_conf / "code" / "imported.txt").exists()
    import keras

    model = keras.models.load_model(run_dir / "best_model.keras")
    assert any(type(layer).__name__ == "ScaledDense" for layer in model.layers)
