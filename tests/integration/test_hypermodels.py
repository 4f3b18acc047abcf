"""Keras Tuner's pre-built HyperModels as `model.hypermodel`: their spaces are ktrun's static
tables (seen by `check` and `plan` without TensorFlow), their models the real `build`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ktrun.checks import CheckReport
from ktrun.pipeline import check_one, run_experiment
from ktrun.spec.hypermodels import HYPERMODELS
from tests.conftest import CONF, REPO


def experiment(
    conf: Path,
    model: str = "{hypermodel: {type: resnet}}",
    extra: str = "",
    shape: tuple[int, ...] = (32, 32, 3),
) -> None:
    """A handful of random images of 3 classes, one-hot labels, and the model given."""
    rng = np.random.default_rng(0)
    np.savez(conf / "images.npz", x=rng.random((16, *shape), dtype=np.float32), y=np.arange(16) % 3)
    (conf / "experiment" / "hm.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: hm}}
data: {{source: npz, path: {conf / "images.npz"}, num_classes: 3, normalize: none, labels: one_hot}}
model: {model}
fit: {{epochs: 1, batch_size: 8}}
{extra}
"""
    )


def check(conf: Path, *overrides: str) -> CheckReport:
    return check_one(["+experiment=hm", *overrides], extra=[conf])


def codes(report: CheckReport) -> dict[str, tuple[str | int, ...]]:
    return {p.code: p.path for p in report.problems}


def test_check_and_plan_see_the_hypermodel_space_without_tensorflow(tmp_conf: Path) -> None:
    experiment(tmp_conf, extra="hyperparameters:\n  conv4_depth: {type: choice, values: [6, 23]}")
    report = check(tmp_conf)
    assert not report.errors and not report.warnings, [p.message for p in report.problems]
    assert report.checked is not None
    params = report.checked.space.params
    assert list(params) == list(HYPERMODELS["resnet"].hyperparameters)
    assert params["conv4_depth"].values == (6, 23)  # narrowed by the user's declaration
    code = (
        "import sys, json\n"
        "from ktrun.cli import main\n"
        f"args = ['--config-dir', {str(tmp_conf)!r}, '+experiment=hm']\n"
        "rc = main(['check', *args]) + main(['plan', *args])\n"
        "heavy = ('tensorflow', 'keras', 'keras_tuner')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == {"rc": 0, "heavy": []}, proc.stdout[-2000:]
    assert "HyperResNet" in proc.stdout and "conv4_depth" in proc.stdout  # the plan lists its space


@pytest.mark.parametrize(
    ("model", "extra", "shape", "code", "path"),
    [
        (
            "{hypermodel: {type: resnet}}",
            "hyperparameters:\n  version: {type: choice, values: [v2, v3]}",
            (32, 32, 3),
            "hypermodel-hp-outside",
            ("hyperparameters", "version"),
        ),
        (
            "{hypermodel: {type: xception, classes: 4}}",
            "",
            (32, 32, 3),
            "output-units-mismatch",
            ("model", "hypermodel", "classes"),
        ),
        ("{hypermodel: {type: efficientnet}}", "", (32, 3), "hypermodel-input", ("model", "hypermodel")),
        (
            "{hypermodel: {type: resnet}, layers: [{type: Dense, units: 3}]}",
            "",
            (32, 32, 3),
            "hypermodel-with-layers",
            ("model",),
        ),
        (
            "{hypermodel: {type: resnet}}",
            "data.labels=sparse",
            (32, 32, 3),
            "hypermodel-labels",
            ("data", "labels"),
        ),
    ],
)
def test_what_a_hypermodel_needs_is_checked(
    tmp_conf: Path, model: str, extra: str, shape: tuple[int, ...], code: str, path: tuple[str | int, ...]
) -> None:
    override = [extra] if "=" in extra else []
    experiment(tmp_conf, model, "" if override else extra, shape)
    report = check(tmp_conf, *override)
    found = [p for p in report.errors if p.code == code]
    assert found and found[0].path == path and found[0].hint, [(p.code, p.path) for p in report.problems]


@pytest.mark.slow
@pytest.mark.keras
def test_a_search_runs_the_real_hyper_resnet_on_its_declared_space(tmp_conf: Path) -> None:
    experiment(
        tmp_conf,
        extra="hyperparameters: {conv4_depth: {type: choice, values: [6]}}\n"
        "pin: {version: v2, conv3_depth: 4}",
    )
    run_dir = tmp_conf / "run"
    rc = run_experiment(
        ["+experiment=hm", "tuner.max_trials=1", f"tuner.state_dir={tmp_conf / 'state'}"],
        CONF,
        [tmp_conf],
        run_dir,
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0 and summary["trials"]["completed"] == 1, summary
    recorded = summary["best"]["hyperparameters"]
    assert set(recorded) == set(HYPERMODELS["resnet"].hyperparameters), recorded
    assert (recorded["version"], recorded["conv3_depth"], recorded["conv4_depth"]) == ("v2", 4, 6)
    import keras

    model = keras.models.load_model(run_dir / "best_model.keras")
    assert model.name == "ResNet" and model.output_shape == (None, 3)
