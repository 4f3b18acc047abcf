"""The published-search corpus (`examples/published/`): every experiment runs one tiny trial to the
end, and the data files the repository ships are the ones its script makes.

Each experiment is run in-process through the same entry point as `ktrun --config-dir
examples/published +experiment=NAME`, from the repository root (its data paths are relative to it),
with one trial, one epoch and one execution.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ktrun.pipeline import run_experiment
from tests.conftest import CONF, REPO, cache_imagenet_weights

PUBLISHED = REPO / "examples" / "published"
NAMES = sorted(p.stem for p in (PUBLISHED / "experiment").glob("*.yaml"))
TINY = ["tuner.max_trials=1", "tuner.executions_per_trial=1", "tuner.overwrite=true"]

#: Experiments that tune `fit.epochs` themselves: one epoch is pinned instead of set.
EPOCHS_TUNED = {"softmax_regression_tuned_epochs_batch": ["+pin.epochs=10"]}
#: The largest models of some spaces take tens of seconds for one epoch on two shared cores:
#: their trial is pinned to a small point of the space (still built, trained and scored).
SMALL = {
    "autokeras_rnn_text_classifier": ["+pin.embedding_dim=32", "+pin.num_layers=1"],
    "kt_blog_cifar10_conv_blocks": [
        "+pin.conv_blocks=3",
        "+pin.filters_1=32",
        "+pin.filters_2=32",
        "+pin.filters_3=32",
    ],
    "kt_helloworld_mnist_deep_mlp": ["+pin.num_layers=2"],
    "vb690_mlp_benchmark_three_tuners": ["+pin.layers_dense_block=1"],
    "house_price_deep_mlp_mae": ["+pin.num_layers=1"],
    "ner_bilstm_timedistributed": ["+pin.units=32"],
    "lane_segmentation_encoder_decoder": ["+pin.num_blocks=3", "+pin.batch_size=32"],
    "kt_hyperresnet_cifar10": ["+pin.conv3_depth=4", "+pin.conv4_depth=6", "data.limit=16"],
    "kio_getting_started_hyperresnet": ["+pin.conv3_depth=4", "+pin.conv4_depth=6", "data.limit=16"],
    "aml_pretrained_resnet50_freeze": ["data.limit=16"],
    "transfer_mobilenetv2_cats_dogs_auc": ["data.limit=16"],
    "kt_hyperxception_cifar10": ["+pin.num_residual_blocks=2", "+pin.sep_num_filters=128"],
    "kio_tailor_hyperxception_lr_only": ["pin.num_residual_blocks=2", "pin.sep_num_filters=128"],
    "kaggle_landmark_hyperefficientnet": ["+pin.version=B0", "data.limit=16"],
    "multilabel_text_lstm": ["+pin.units=32"],
}


def _make_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_data", PUBLISHED / "make_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_names_experiments() -> None:
    assert set(NAMES) >= EVERY_KIND


def test_shipped_data_are_what_the_script_makes(tmp_path: Path) -> None:
    make_data = _make_data()
    shipped = PUBLISHED / "datasets"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(make_data.FILES)
    for path in make_data.write(tmp_path):
        ours = shipped / path.name
        assert ours.stat().st_size < 1_000_000, path.name
        assert ours.read_bytes() == path.read_bytes(), f"{path.name}: run examples/published/make_data.py"
    with np.load(shipped / "mnist_small.npz") as mnist:  # a Keras-format file, as Keras writes it
        assert mnist["x_train"].shape == (240, 28, 28) and mnist["x_train"].dtype == np.uint8


#: The sample `make test` runs (output kinds and images have trials of their own elsewhere);
#: all of them run in `make test-heavy` (minutes of CPU). A name here that is no experiment fails
#: `test_the_sample_names_experiments`.
EVERY_KIND = {
    "kt_readme_quick_start",  # regression
    "kt_legacy_imdb_cnn_l1l2",  # text, regularizers
    "tfx_penguin_multi_input",  # several named inputs
    "ner_bilstm_timedistributed",  # sequence labelling, wrappers
    "multilabel_text_lstm",  # multi-label
}


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.usefixtures("no_plots")  # drawing them would add a second or two to each run
@pytest.mark.parametrize(
    "name", [n if n in EVERY_KIND else pytest.param(n, marks=pytest.mark.heavy) for n in NAMES]
)
def test_published_experiment_runs_one_tiny_trial(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    run_dir = tmp_path / "run"
    epochs = EPOCHS_TUNED.get(name, ["fit.epochs=1"])
    overrides = [f"+experiment={name}", *TINY, *epochs, *SMALL.get(name, [])]
    # ImageNet weights load from Keras' cache: a fresh one, with random weights under their names
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    cache_imagenet_weights(tmp_path / "keras", overrides, [PUBLISHED])
    overrides.append(f"tuner.state_dir={tmp_path / 'state'}")
    rc = run_experiment(overrides, CONF, [PUBLISHED], run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0, summary
    assert summary["status"] == "completed", summary
    assert summary["trials"]["completed"] == 1 and summary["trials"]["failed"] == 0, summary
    assert summary["experiment"] == name
