"""Keras Tuner's pre-built HyperModels as `model.hypermodel`: their spaces are ktrun's static
tables (seen by `check` and `plan` without TensorFlow), their models the real `build`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.checks import CheckReport
from ktrun.pipeline import check_one, run_experiment
from ktrun.spec.hypermodels import HYPERMODELS
from tests.conftest import CONF, REPO, cache_imagenet_weights


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


def test_a_declared_hyperparameter_replaces_the_hypermodels_own_as_in_keras_tuner(tmp_conf: Path) -> None:
    """Keras Tuner returns the value registered first, so the user's entry is what is searched:
    values beyond the HyperModel's own, where its build can use them (a number, a depth)."""
    experiment(
        tmp_conf,
        "{hypermodel: {type: resnet}}",
        "hyperparameters:\n"
        "  learning_rate: {type: float, min: 1.0e-4, max: 0.3, sampling: log}\n"
        "  conv4_depth: {type: int, min: 2, max: 4}\n"
        "  optimizer: {type: choice, values: [adamw, nadam]}",
    )
    report = check(tmp_conf)
    assert not report.errors, [p.message for p in report.errors]
    assert report.checked is not None
    params = report.checked.space.params
    assert params["conv4_depth"].values == (2, 3, 4)
    assert params["optimizer"].values == ("adamw", "nadam")
    assert params["learning_rate"].values is None  # continuous: the user's range, not the choice


@pytest.mark.parametrize(
    ("model", "key", "declared", "bad", "hint"),
    [
        ("xception", "learning_rate", "{type: choice, values: [fast, slow]}", "'fast'", "choice of numbers"),
        ("xception", "learning_rate", "{type: float, min: 0.0, max: 0.1}", "0.0", "within a number > 0"),
        ("resnet", "conv3_depth", "{type: choice, values: [1, 4]}", "can be 1", "integer >= 2"),
        ("resnet", "conv3_depth", "{type: float, min: 2, max: 8}", "a float", "`type: int`"),
        ("resnet", "optimizer", "{type: choice, values: [adam, lamb]}", "'lamb'", "keras.optimizers.get"),
        ("xception", "activation", "{type: choice, values: [relu, gelu]}", "'gelu'", "subset of its values"),
    ],
    ids=["lr-names", "lr-zero", "depth-1", "depth-float", "optimizer-lamb", "activation-new"],
)
def test_a_replacement_the_hypermodels_build_cannot_use_is_refused(
    tmp_conf: Path, model: str, key: str, declared: str, bad: str, hint: str
) -> None:
    experiment(tmp_conf, f"{{hypermodel: {{type: {model}}}}}", f"hyperparameters:\n  {key}: {declared}")
    found = [p for p in check(tmp_conf).errors if p.code == "hypermodel-hp-outside"]
    assert found and found[0].path == ("hyperparameters", key), found
    assert bad in found[0].message, found[0].message
    assert hint in found[0].hint + " " + found[0].message, (found[0].message, found[0].hint)


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
            "{hypermodel: {type: efficientnet, weights: imagenet}}",
            "",
            (32, 32, 1),
            "hypermodel-input",
            ("model", "hypermodel", "weights"),
        ),
        (
            "{hypermodel: {type: xception, weights: imagenet}}",
            "",
            (32, 32, 3),
            "hypermodel-weights",
            ("model", "hypermodel", "weights"),
        ),
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


@pytest.mark.heavy
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


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.keras
def test_a_replaced_learning_rate_is_the_one_the_trial_trains_with(tmp_conf: Path) -> None:
    """keras.io's "Tailor the search space": learning_rate {1e-2} replaces HyperXception's own
    {1e-3, 1e-4, 1e-5}; the compiled optimizer of the trial's model has 1e-2."""
    # Small, and widened too (8 separable filters crash TensorFlow's CPU kernels: free(): invalid size).
    experiment(
        tmp_conf,
        "{hypermodel: {type: xception}}",
        "hyperparameters:\n"
        "  learning_rate: {type: choice, values: [1.0e-2]}\n"
        "  conv2d_num_filters: {type: choice, values: [8]}\n"
        "  sep_num_filters: {type: choice, values: [32]}\n"
        "  num_residual_blocks: {type: choice, values: [1]}\n"
        "pin: {activation: relu, kernel_size: 3, pooling: avg, num_dense_layers: 1, dense_use_bn: true}",
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
    assert summary["best"]["hyperparameters"]["learning_rate"] == 1e-2
    import keras

    model = keras.models.load_model(run_dir / "best_model.keras")
    assert model.name == "Xception"
    assert type(model.optimizer).__name__ == "Adam"
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-2)
    sep = [layer for layer in model.layers if isinstance(layer, keras.layers.SeparableConv2D)]
    assert sep and {layer.filters for layer in sep} == {32, 64}  # 1 block, then the exit's 2 x 32


@pytest.mark.heavy  # 30 s: an EfficientNet built and its file written; Backbone's loading is in make test
@pytest.mark.slow
@pytest.mark.keras
def test_hyper_efficientnet_with_imagenet_weights_loads_the_cached_file(
    tmp_conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`weights: imagenet` (Keras Tuner's own default): the EfficientNet HyperEfficientNet builds
    holds the cached file's weights, its input Normalization the file's statistics (folded as
    Keras' ImageNet model normalises), never re-adapted to the training data."""
    import keras

    from ktrun.compiler.plan import compile_plan
    from ktrun.runtime.tuner import KtrunHyperModel

    home = tmp_conf / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    experiment(tmp_conf, "{hypermodel: {type: efficientnet, weights: imagenet}}", "pin: {version: B0}")
    (cached,) = cache_imagenet_weights(home, ["+experiment=hm"], [tmp_conf])
    assert cached.name == "efficientnetb0_notop.h5"
    report = check(tmp_conf)
    assert report.checked is not None
    hypermodel = KtrunHyperModel(compile_plan(report.checked))
    hp = keras_tuner_hp(hypermodel)
    model = hypermodel.build(hp)
    source = keras.applications.EfficientNetB0(
        include_top=False, weights=str(cached), input_shape=(224, 224, 3)
    )
    stem = model.get_layer("stem_conv").get_weights()[0]
    np.testing.assert_array_equal(stem, source.get_layer("stem_conv").get_weights()[0])
    norm = next(x for x in model.layers if isinstance(x, keras.layers.Normalization))
    before = norm.get_weights()
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    hypermodel.fit(hp, model, x, y, epochs=1, verbose=0)
    for a, b in zip(before, norm.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # Keras Tuner never adapts it; neither does ktrun


def keras_tuner_hp(hypermodel: Any) -> Any:
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    return hp
