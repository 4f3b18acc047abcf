"""Custom losses, metrics and activations: through the same `custom_objects` opt-in as layers.

`ktrun check` locates the module without importing it (a side effect at import would show); a name
not declared is an error; the objective on a metric of your own needs its direction; a search
imports the module when it builds the first model and trains with all three.
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
from keras import ops


@keras.saving.register_keras_serializable(package="ktrun_test")
class ScaledCrossentropy(keras.losses.Loss):
    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, y_true, y_pred):
        return self.alpha * keras.losses.sparse_categorical_crossentropy(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="ktrun_test")
def hits(y_true, y_pred):
    return keras.metrics.sparse_categorical_accuracy(y_true, y_pred)


@keras.saving.register_keras_serializable(package="ktrun_test")
def half_relu(x):
    return ops.relu(x) * 0.5
"""

DECLARED = """custom_objects:
  paths: [{code}]
  losses: {{scaled: "ktrun_test_compile:ScaledCrossentropy"}}
  metrics: {{hits: "ktrun_test_compile:hits"}}
  activations: {{half_relu: "ktrun_test_compile:half_relu"}}
"""

BODY = """hyperparameters:
  alpha: {{type: float, min: 0.5, max: 1.0}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: Dense, units: 16, activation: {activation}}}
    - {{type: Dense, units: 10, activation: softmax}}
  compile:
    loss: {{name: {loss}, alpha: $alpha}}
    metrics: [accuracy, {metric}]
objective: {objective}
"""


def experiment(
    conf: Path,
    *,
    loss: str = "scaled",
    metric: str = "hits",
    activation: str = "half_relu",
    objective: str = "{name: val_hits, direction: max}",
) -> None:
    code = conf / "code"
    code.mkdir(exist_ok=True)
    (code / "ktrun_test_compile.py").write_text(MODULE)
    (conf / "experiment" / "custom.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: digits\n  - override /model: none\n"
        "experiment: {name: custom_compile}\n"
        + DECLARED.format(code=code)
        + BODY.format(loss=loss, metric=metric, activation=activation, objective=objective)
    )


def test_check_resolves_the_names_without_importing_the_module(tmp_conf: Path) -> None:
    experiment(tmp_conf)
    sys.modules.pop("ktrun_test_compile", None)  # the slow test, run first, imports it
    report = check_one(["+experiment=custom"], extra=[tmp_conf])
    assert not report.errors, [p.message for p in report.problems]
    assert report.checked is not None and report.checked.direction == "max"
    assert "alpha" in report.checked.space.params  # the custom loss's argument is tuned
    assert "ktrun_test_compile" not in sys.modules
    assert not (tmp_conf / "code" / "imported.txt").exists()


def _problem(report: CheckReport, code: str) -> tuple[tuple[str | int, ...], str]:
    found = [p for p in report.errors if p.code == code]
    assert found, [(p.code, p.message) for p in report.problems]
    return found[0].path, found[0].hint


@pytest.mark.parametrize(
    ("kwargs", "code", "path", "hint"),
    [
        ({"loss": "scaled_x"}, "unknown-loss", ("model", "compile", "loss"), "custom_objects.losses"),
        ({"metric": "hitz"}, "unknown-metric", ("model", "compile", "metrics", 1), "did you mean `hits`"),
        (
            {"activation": "half_reluu"},
            "unknown-activation",
            ("model", "layers", 1, "activation"),
            "did you mean `half_relu`",
        ),
        (
            {"objective": "{name: val_hits}"},
            "objective-direction-unknown",
            ("objective", "name"),
            "objective.direction: max",
        ),
    ],
)
def test_undeclared_names_and_unknown_directions_are_errors(
    tmp_conf: Path, kwargs: dict[str, str], code: str, path: tuple[str | int, ...], hint: str
) -> None:
    experiment(tmp_conf, **kwargs)
    at, text = _problem(check_one(["+experiment=custom"], extra=[tmp_conf]), code)
    assert at == path and hint in text, text
    assert not (tmp_conf / "code" / "imported.txt").exists()


def test_a_module_that_cannot_be_found_is_an_error(tmp_conf: Path) -> None:
    experiment(tmp_conf)
    yaml_file = tmp_conf / "experiment" / "custom.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("ktrun_test_compile:hits", "nowhere_at_all:hits"))
    at, _ = _problem(check_one(["+experiment=custom"], extra=[tmp_conf]), "custom-module-not-found")
    assert at == ("custom_objects", "metrics", "hits")


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.usefixtures("no_plots")
def test_a_search_trains_with_a_custom_loss_metric_and_activation(tmp_conf: Path) -> None:
    experiment(tmp_conf)
    run_dir = tmp_conf / "run"
    rc = run_experiment(
        [
            "+experiment=custom",
            "data.limit=120",
            "fit.epochs=1",
            "tuner.max_trials=1",
            f"tuner.state_dir={tmp_conf / 'state'}",
        ],
        CONF,
        [tmp_conf],
        run_dir,
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0 and summary["trials"]["completed"] == 1, summary
    assert summary["objective"] == {"name": "val_hits", "direction": "max"}
    best = summary["best"]
    assert 0.0 <= best["score"] <= 1.0 and 0.5 <= best["hyperparameters"]["alpha"] <= 1.0, best
    assert (tmp_conf / "code" / "imported.txt").exists()
    import keras

    model = keras.models.load_model(run_dir / "best_model.keras")
    assert model.layers[2].activation.__name__ == "half_relu"  # input, Flatten, Dense
