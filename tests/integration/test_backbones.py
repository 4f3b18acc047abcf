"""Backbones: `keras.applications` networks as one layer, never downloading.

The check reads only the config and the weights file's presence; the run builds the network for
the shape its layer receives, loads a local weights file, and freezes what the layer says.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ktrun.pipeline import check_one, run_experiment
from tests.conftest import CONF


def experiment(conf: Path, backbone: str, hyperparameters: str = "", channels: int = 3) -> None:
    """32x32 random images of 3 classes, and a Backbone layer with a Dense head."""
    rng = np.random.default_rng(0)
    x = rng.random((24, 32, 32, channels), dtype=np.float32)
    np.savez(conf / "images.npz", x=x, y=np.arange(24) % 3)
    (conf / "experiment" / "backbone.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: backbone}}
data: {{source: npz, path: {conf / "images.npz"}, num_classes: 3, normalize: none}}
hyperparameters: {{{hyperparameters}}}
model:
  layers:
    - {backbone}
    - {{type: Dense, units: 3, activation: softmax}}
fit: {{epochs: 1, batch_size: 8}}
"""
    )


def run(conf: Path, *overrides: str) -> dict[str, object]:
    run_dir = conf / "run"
    rc = run_experiment(
        ["+experiment=backbone", "tuner.max_trials=1", f"tuner.state_dir={conf / 'state'}", *overrides],
        CONF,
        [conf],
        run_dir,
    )
    summary: dict[str, object] = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0, summary
    return summary


def test_check_sees_the_backbone_output_and_a_weights_file_for_grey_images(tmp_conf: Path) -> None:
    weights = tmp_conf / "grey.weights.h5"
    weights.write_bytes(b"")  # the check looks only for the file
    experiment(tmp_conf, f"{{type: Backbone, application: MobileNetV2, weights: {weights}}}", channels=1)
    report = check_one(["+experiment=backbone"], extra=[tmp_conf])
    problem = next(p for p in report.errors if p.code == "backbone-channels")
    assert problem.path == ("model", "layers", 0, "weights") and "filters: 3" in problem.hint

    experiment(
        tmp_conf,
        "{type: Backbone, application: MobileNetV2, alpha: 0.35, pooling: $pool}",
        "pool: {type: choice, values: [avg, max]}",
    )
    report = check_one(["+experiment=backbone"], extra=[tmp_conf])
    assert not report.errors, [p.message for p in report.problems]
    assert report.checked is not None
    trace = report.checked.feasibility.reference_trace
    assert trace is not None and [s for _, s in trace.steps] == [(1280,), (3,)]


def test_a_weights_file_outside_the_project_is_not_looked_at(
    tmp_conf: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "b.weights.h5"
    experiment(tmp_conf, f"{{type: Backbone, application: MobileNetV2, weights: {elsewhere}, pooling: avg}}")
    report = check_one(["+experiment=backbone"], extra=[tmp_conf], data_roots=(tmp_conf,))
    assert [p.code for p in report.problems if p.path[-1:] == ("weights",)] == ["weights-file-not-read"]


@pytest.mark.slow
@pytest.mark.keras
def test_a_search_trains_a_small_backbone_with_tuned_freezing(tmp_conf: Path) -> None:
    experiment(
        tmp_conf,
        "{type: Backbone, application: MobileNetV2, alpha: 0.35, weights: null, trainable: $trainable,"
        " fine_tune_from: $ft, pooling: avg}",
        "trainable: {type: boolean}, ft: {type: choice, values: [100, 150]}",
    )
    summary = run(tmp_conf)
    assert summary["trials"]["completed"] == 1, summary  # type: ignore[index]
    import keras

    model = keras.models.load_model(tmp_conf / "run" / "best_model.keras")
    backbone = model.layers[1]  # after the input layer
    assert isinstance(backbone, keras.Model) and backbone.output_shape == (None, 1280)


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.keras
def test_a_frozen_backbone_keeps_the_weights_of_its_local_file(tmp_conf: Path) -> None:
    import keras

    source = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35, pooling="avg"
    )
    weights = tmp_conf / "mobilenet.weights.h5"
    source.save_weights(weights)
    experiment(
        tmp_conf,
        f"{{type: Backbone, application: MobileNetV2, alpha: 0.35, weights: {weights}, trainable: false,"
        " pooling: avg}",
    )
    run(tmp_conf)
    model = keras.models.load_model(tmp_conf / "run" / "best_model.keras")
    trained = model.layers[1].get_weights()  # after the input layer
    assert len(trained) == len(source.get_weights())
    for before, after in zip(source.get_weights(), trained, strict=True):
        np.testing.assert_array_equal(before, after)  # loaded from the file, and frozen
