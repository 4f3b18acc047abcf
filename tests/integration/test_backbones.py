"""Backbones: `keras.applications` networks as one layer, never downloading.

The check reads only the config and the weights file's presence; the run builds the network for
the shape its layer receives, loads a local weights file (or ImageNet's, by path from Keras'
cache, never downloaded), and freezes what the layer says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ktrun.pipeline import check_one, run_experiment
from tests.conftest import CONF, REPO, cache_imagenet_weights


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
@pytest.mark.usefixtures("no_plots")
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


IMAGENET_SMALL = (
    "{type: Backbone, application: MobileNetV2, alpha: 0.35, weights: imagenet,"
    + " trainable: false, pooling: avg}"
)
#: MobileNetV2 at alpha 0.35 on 32x32 images: Keras loads its 224 file for any side it has none of.
MOBILENET_035 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def test_check_names_the_cached_file_without_looking_for_it(tmp_conf: Path) -> None:
    experiment(tmp_conf, IMAGENET_SMALL)
    report = check_one(["+experiment=backbone"], extra=[tmp_conf])
    assert not report.errors, [p.message for p in report.problems]
    (needed,) = [p for p in report.problems if p.code == "imagenet-weights-needed"]
    assert needed.path == ("model", "layers", 0, "weights") and needed.severity.value == "info"
    assert MOBILENET_035 in needed.message
    assert "keras.applications.MobileNetV2(include_top=False, weights='imagenet', alpha=0.35" in needed.hint


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.usefixtures("no_plots")
def test_imagenet_weights_load_from_the_keras_cache_by_path(
    tmp_conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    home = tmp_conf / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    experiment(tmp_conf, IMAGENET_SMALL)
    (cached,) = cache_imagenet_weights(home, ["+experiment=backbone"], [tmp_conf])
    assert cached == home / "models" / MOBILENET_035
    run(tmp_conf)
    model = keras.models.load_model(tmp_conf / "run" / "best_model.keras")
    trained = model.layers[1].get_weights()  # after the input layer
    source = keras.applications.MobileNetV2(
        include_top=False, weights=str(cached), input_shape=(32, 32, 3), alpha=0.35, pooling="avg"
    ).get_weights()
    fresh = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35, pooling="avg"
    ).get_weights()
    assert len(trained) == len(source)
    assert not all(np.array_equal(a, b) for a, b in zip(fresh, source, strict=True))  # can tell
    for before, after in zip(source, trained, strict=True):
        np.testing.assert_array_equal(before, after)  # loaded from the cached file, and frozen


def _no_network() -> list[str]:
    """`unshare -n` (a network namespace with no interfaces) where this user may make one."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0:
        return ["unshare", "-n"]
    return []


def test_a_missing_cached_file_stops_the_run_before_keras_is_imported(tmp_conf: Path) -> None:
    experiment(tmp_conf, IMAGENET_SMALL)
    home = tmp_conf / "keras"
    probe = (
        "import sys; from ktrun.cli import main; rc = main(sys.argv[1:]); "
        "loaded = 'tensorflow' in sys.modules or 'keras' in sys.modules; "
        "print('TF LOADED' if loaded else 'NO TF'); sys.exit(rc)"
    )
    done = subprocess.run(
        [
            *_no_network(),
            sys.executable,
            "-c",
            probe,
            "--config-dir",
            str(tmp_conf),
            "+experiment=backbone",
            f"tuner.state_dir={tmp_conf / 'state'}",
            f"hydra.run.dir={tmp_conf / 'run'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KERAS_HOME": str(home), "NO_COLOR": "1"},
    )
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "Traceback" not in out and "NO TF" in out, out
    assert "error [imagenet-weights-missing] model.layers.0.weights" in out, out
    assert str(home / "models" / MOBILENET_035) in out, out
    assert "keras.applications.MobileNetV2(include_top=False, weights='imagenet', alpha=0.35" in out, out
    assert "weights: null" in out, out
    assert not (tmp_conf / "state").exists()  # no search started


def test_a_cached_file_that_is_no_weights_file_is_refused_before_any_trial(
    tmp_conf: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_conf / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    (home / "models").mkdir(parents=True)
    (home / "models" / MOBILENET_035).write_bytes(b"<html>captive portal</html>")  # a bad download
    experiment(tmp_conf, IMAGENET_SMALL)
    rc = run_experiment(
        ["+experiment=backbone", f"tuner.state_dir={tmp_conf / 'state'}"], CONF, [tmp_conf], tmp_conf / "run"
    )
    out = capsys.readouterr().out
    assert rc == 2, out
    assert "error [imagenet-weights-unreadable] model.layers.0.weights" in out and "not an HDF5 file" in out
    assert "delete the file and fetch it again" in out
    assert not (tmp_conf / "state").exists()


@pytest.mark.slow
@pytest.mark.keras
def test_an_imagenet_efficientnet_normalises_as_keras_own_does(
    tmp_conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built with `weights="imagenet"`, Keras' EfficientNet divides its normalised input once
    more by sqrt(stddev); loaded by path it would not, so ktrun folds that into the variance."""
    import keras

    from ktrun.compiler.keras_model import IMAGENET_STDDEV_RGB, imagenet_application

    home = tmp_conf / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    source = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(32, 32, 3))
    norm = next(x for x in source.layers if isinstance(x, keras.layers.Normalization))
    mean, var = np.array([0.4, 0.5, 0.6], "float32"), np.array([0.05, 0.06, 0.07], "float32")
    norm.set_weights([mean, var, norm.get_weights()[2]])
    (home / "models").mkdir(parents=True)
    source.save(home / "models" / "efficientnetb0_notop.h5")

    built = imagenet_application("EfficientNetB0", {"include_top": False}, (32, 32, 3))
    ours = next(x for x in built.layers if isinstance(x, keras.layers.Normalization))
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32) * 255
    got = keras.Model(built.inputs, ours.output).predict(x, verbose=0)
    want = (x / 255 - mean) / np.sqrt(var) / np.sqrt(np.asarray(IMAGENET_STDDEV_RGB, "float32"))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    stem = built.get_layer("stem_conv").get_weights()[0]
    np.testing.assert_array_equal(stem, source.get_layer("stem_conv").get_weights()[0])  # loaded
