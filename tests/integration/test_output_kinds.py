"""One tiny trial per output kind, on data the test makes: multi-label, sequence labelling,
rank-2 regression targets, an autoencoder. Each trains through the same entry point as `ktrun`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.pipeline import run_experiment
from tests.conftest import CONF

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

RNG = np.random.default_rng(0)


def run_one(tmp_path: Path, name: str, arrays: dict[str, Any], body: str) -> dict[str, Any]:
    """Write the data and the experiment, run one trial of one epoch, return summary.json."""
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    np.savez(conf / "d.npz", **arrays)
    (conf / "experiment" / f"{name}.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: npz\n  - override /model: none\n"
        f"experiment: {{name: {name}}}\n" + body.replace("DATA", str(conf / "d.npz")),
        encoding="utf-8",
    )
    run_dir = tmp_path / "run"
    overrides = [
        f"+experiment={name}",
        "tuner.max_trials=1",
        "fit.epochs=1",
        "fit.batch_size=16",
        f"tuner.state_dir={tmp_path / 'state'}",
    ]
    assert run_experiment(overrides, CONF, [conf], run_dir) == 0
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["trials"]["completed"] == 1, summary
    assert math.isfinite(summary["best"]["score"])
    return summary


def test_multi_label(tmp_path: Path) -> None:
    x = RNG.normal(size=(48, 6)).astype(np.float32)
    y = (x[:, :4] > 0).astype(np.int64)  # four independent yes/no labels
    summary = run_one(
        tmp_path,
        "multi_label",
        {"x": x, "y": y},
        """
data: {path: DATA, labels: multi_hot}
model:
  layers:
    - {type: Dense, units: 8, activation: relu}
    - {type: Dense, units: 4, activation: sigmoid}
  compile: {loss: binary_crossentropy, metrics: [accuracy]}
""",
    )
    assert summary["objective"]["name"] == "val_accuracy" and 0.0 <= summary["best"]["score"] <= 1.0


def test_multi_hot_accuracy_is_binary_accuracy(tmp_conf: Path) -> None:
    """Keras would take `accuracy` on multi-hot rows as categorical accuracy (arg-max against
    arg-max); the builder makes it binary accuracy per label, logged under the same name."""
    from ktrun.compiler.keras_model import build_model
    from ktrun.compiler.plan import compile_plan
    from ktrun.pipeline import check_one

    x = RNG.normal(size=(40, 3)).astype(np.float32)
    y = (RNG.random((40, 4)) > 0.5).astype(np.float32)
    np.savez(tmp_conf / "d.npz", x=x, y=y)
    (tmp_conf / "experiment" / "ml.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: npz\n  - override /model: none\n"
        f"experiment: {{name: ml}}\ndata: {{path: {tmp_conf / 'd.npz'}, labels: multi_hot}}\n"
        "model:\n  layers: [{type: Dense, units: 4, activation: sigmoid}]\n"
        "  compile: {loss: binary_crossentropy, metrics: [accuracy]}\n",
        encoding="utf-8",
    )
    report = check_one(["+experiment=ml"], extra=[tmp_conf])
    assert report.checked is not None, report.problems
    model = build_model(compile_plan(report.checked, state_root=tmp_conf / "state"), {})
    logged = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    scores = model.predict(x, verbose=0)
    binary = float(np.mean((scores > 0.5) == (y > 0.5)))
    categorical = float(np.mean(scores.argmax(axis=1) == y.argmax(axis=1)))
    assert logged == pytest.approx(binary, abs=1e-6) and binary != pytest.approx(categorical)


def test_sequence_labelling(tmp_path: Path) -> None:
    x = RNG.integers(1, 20, size=(48, 7)).astype(np.float32)
    run_one(
        tmp_path,
        "tagging",
        {"x": x, "y": (x % 3).astype(np.int64)},  # one tag per token
        """
data: {path: DATA, per_step: true, normalize: none}
model:
  layers:
    - {type: Embedding, input_dim: 20, output_dim: 4}
    - {type: LSTM, units: 8, return_sequences: true}
    - {type: Dense, units: 3, activation: softmax}
""",
    )


def test_rank_2_regression_targets(tmp_path: Path) -> None:
    x = RNG.normal(size=(48, 6)).astype(np.float32)
    run_one(
        tmp_path,
        "grid",
        {"x": x, "y": x.reshape(48, 2, 3) * 2.0},
        """
data: {path: DATA, task: regression}
model:
  layers:
    - {type: Dense, units: 6}
    - {type: Reshape, target_shape: [2, 3]}
  compile: {loss: mse, metrics: [mae]}
objective: {name: val_mae}
""",
    )


def test_autoencoder(tmp_path: Path) -> None:
    summary = run_one(
        tmp_path,
        "autoencoder",
        {"x": RNG.random((48, 8, 8, 1)).astype(np.float32)},  # no y array: the target is the input
        """
data: {path: DATA, task: reconstruction, normalize: scale}
model:
  layers:
    - {type: Conv2D, filters: 4, kernel_size: 3, padding: same, activation: relu}
    - {type: MaxPooling2D, pool_size: 2}
    - {type: UpSampling2D, size: 2}
    - {type: Conv2D, filters: 1, kernel_size: 3, padding: same, activation: sigmoid}
  compile: {loss: binary_crossentropy, metrics: [mae]}
objective: {name: val_loss}
""",
    )
    assert summary["best"]["score"] > 0.0  # a cross-entropy against the input, not a class score
