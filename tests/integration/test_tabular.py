"""A mixed csv trains: numbers, a categorical column and a short text, each its own named input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.integration.test_search import search, write_experiment

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

MIXED = """
data: {{source: csv, path: {path}, label_column: label, normalize: standardize, limit: null,
        columns: {{color: categorical, review: text}}}}
hyperparameters:
  tokens: {{type: choice, values: [16, 24]}}
model:
  inputs: {{numbers: {{}}, color: {{}}, review: {{}}}}
  layers:
    - {{type: Embedding, inputs: [color], input_dim: 5, output_dim: 2}}
    - {{type: Flatten, name: color_vec}}
    - type: TextVectorization
      name: words
      inputs: [review]
      max_tokens: $tokens
      output_sequence_length: 4
    - {{type: Embedding, input_dim: $tokens, output_dim: 3}}
    - {{type: GlobalAveragePooling1D, name: review_vec}}
    - {{type: Concatenate, inputs: [numbers, color_vec, review_vec]}}
    - {{type: Dense, units: 2, activation: softmax}}
"""


def test_a_mixed_csv_searches_with_vocabularies_of_the_training_rows(tmp_path: Path) -> None:
    import keras
    import tensorflow as tf

    from ktrun.data.prepare import _rows
    from ktrun.spec.experiment import DataSpec

    n = 60
    colors, words = ["red", "green", "blue"], ["good", "bad", "fine", "okay"]
    rows = [
        [
            str(20 + i % 30),
            f"{i * 0.7:.1f}",
            colors[i % 3],
            f"{words[i % 4]} {words[(i + 1) % 4]}",
            str(i % 2),
        ]
        for i in range(n)
    ]
    order, n_val = _rows(n, DataSpec(source="csv", validation_split=0.2), 0)  # the search's split
    for i in order[len(order) - n_val :]:  # only validation rows hold these
        rows[int(i)][2], rows[int(i)][3] = "purple", "zebra words"
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(["age,income,color,review,label", *(",".join(r) for r in rows)]) + "\n")
    conf = tmp_path / "conf"
    conf.mkdir()
    write_experiment(conf, "mixed", MIXED.format(path=path))
    rc, summary, run_dir = search(
        tmp_path, "+experiment=mixed", "tuner.max_trials=1", "experiment.seed=0", extra=[conf]
    )
    assert rc == 0, summary
    assert summary["trials"]["completed"] == 1
    model = keras.saving.load_model(run_dir / "best_model.keras")
    assert [t.name for t in model.inputs] == ["numbers", "color", "review"]
    assert [str(t.dtype) for t in model.inputs] == ["float32", "int64", "string"]
    vocabulary = model.get_layer("words").get_vocabulary()
    assert {"good", "bad", "fine", "okay"} <= set(vocabulary)
    assert "zebra" not in vocabulary and "words" not in vocabulary  # validation rows only
    # The unseen colour is id 0; the model still scores those rows.
    seen = model.predict(
        {
            "numbers": np.zeros((2, 2), "float32"),
            "color": np.array([[0], [1]], "int64"),
            "review": tf.constant([["zebra"], ["good"]]),
        },
        verbose=0,
    )
    assert seen.shape == (2, 2) and np.isfinite(seen).all()
