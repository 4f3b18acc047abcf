"""Normalization is adapted to each trial's training split, never to the validation data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ktrun.pipeline import check_one
from tests.integration.test_search import search, write_experiment

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

NORMALIZED = """
data: {normalize: none}
model:
  layers:
    - {type: Normalization, axis: [1, 2]}
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
tuner: {max_trials: 1}
"""


def test_normalization_learns_the_training_split_s_statistics(tmp_path: Path, tmp_conf: Path) -> None:
    """The search trains one tiny model; the saved model's Normalization holds the mean and
    variance of the training rows, per pixel, which differ from those of all the rows."""
    import keras

    from ktrun.data.load import load_dataset
    from ktrun.runtime.datasets import keras_dataset

    write_experiment(tmp_conf, "normalized", NORMALIZED)
    overrides = ["+experiment=normalized", "data.limit=200"]
    rc, summary, run_dir = search(tmp_path, *overrides, extra=[tmp_conf])
    assert rc == 0 and summary["trials"]["completed"] == 1, summary
    report = check_one(overrides, extra=[tmp_conf])
    assert report.checked is not None
    spec = report.checked.spec
    data = load_dataset(
        spec.data,
        report.checked.input_shape,
        report.checked.num_classes,
        spec.experiment.seed,
        keras_loader=keras_dataset,
    )
    assert data.x_val is not None
    model = keras.saving.load_model(run_dir / "best_model.keras")
    (norm,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Normalization)]
    mean = np.asarray(norm.mean).reshape(8, 8)
    train_mean = data.x_train.mean(axis=0).reshape(8, 8)
    all_mean = np.concatenate([data.x_train, data.x_val]).mean(axis=0).reshape(8, 8)
    assert np.abs(train_mean - all_mean).max() > 1e-3  # the two differ: the test can tell them apart
    np.testing.assert_allclose(mean, train_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        np.asarray(norm.variance).reshape(8, 8), data.x_train.var(axis=0).reshape(8, 8), rtol=1e-3, atol=1e-3
    )


GIVEN = """
data: {normalize: none}
model:
  layers:
    - {type: Normalization, mean: 2.0, variance: 4.0}
    - {type: Normalization, adapt: false}
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
tuner: {max_trials: 1}
"""


def test_a_normalization_given_statistics_or_adapt_false_is_not_adapted(
    tmp_path: Path, tmp_conf: Path
) -> None:
    """Given mean and variance stay as given; `adapt: false` stays at Keras' mean 0 and variance 1
    (the identity of a Normalization never adapted), after a trial has trained."""
    import keras

    write_experiment(tmp_conf, "given", GIVEN)
    rc, summary, run_dir = search(tmp_path, "+experiment=given", "data.limit=200", extra=[tmp_conf])
    assert rc == 0 and summary["trials"]["completed"] == 1, summary
    model = keras.saving.load_model(run_dir / "best_model.keras")
    given, unadapted = [layer for layer in model.layers if isinstance(layer, keras.layers.Normalization)]
    np.testing.assert_allclose(np.asarray(given.mean), 2.0)
    np.testing.assert_allclose(np.asarray(given.variance), 4.0)
    np.testing.assert_allclose(np.asarray(unadapted.mean), 0.0)
    np.testing.assert_allclose(np.asarray(unadapted.variance), 1.0)
    x = np.random.default_rng(0).uniform(0, 16, (4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(unadapted(x)), x)
