"""Graphs train: two inputs and two outputs from named arrays, a residual block, attention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.integration.test_search import search, write_experiment

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

TWO_HEADS = """
data: {{source: npz, path: {path}, num_classes: 3, limit: null}}
hyperparameters:
  blocks: {{type: int, min: 1, max: 2}}
  heads: {{type: choice, values: [1, 2]}}
model:
  inputs:
    image: {{}}
    meta: {{}}
  layers:
    - {{type: Reshape, inputs: [image], target_shape: [4, 4]}}
    - {{type: Dense, units: 8}}
    - type: repeat
      times: $blocks
      residual: true
      layers:
        - {{type: MultiHeadAttention, num_heads: $heads, key_dim: 4}}
        - {{type: LayerNormalization}}
    - {{type: GlobalAveragePooling1D, name: seen}}
    - {{type: Concatenate, name: joined, inputs: [seen, meta]}}
    - {{type: Dense, name: kind, units: 3, activation: softmax}}
    - {{type: Dense, name: price, inputs: [joined], units: 1}}
  outputs:
    - {{layer: kind, metrics: [accuracy]}}
    - {{layer: price, loss: mse, loss_weight: 0.5, metrics: [mae]}}
objective: {{name: val_price_mae}}
"""


def test_two_inputs_two_outputs_residual_attention_search(tmp_path: Path) -> None:
    import keras

    rng = np.random.default_rng(0)
    rows = 64
    image = rng.random((rows, 4, 4, 1)).astype("float32")
    meta = rng.random((rows, 3)).astype("float32")
    np.savez(
        tmp_path / "shop.npz",
        image=image,
        meta=meta,
        kind=rng.integers(0, 3, rows),
        price=(image.mean(axis=(1, 2, 3)) + meta.sum(axis=1)).astype("float32"),
    )
    conf = tmp_path / "conf"
    conf.mkdir()
    write_experiment(conf, "shop", TWO_HEADS.format(path=tmp_path / "shop.npz"))
    rc, summary, run_dir = search(
        tmp_path, "+experiment=shop", "tuner.max_trials=2", "data.limit=null", extra=[conf]
    )
    assert rc == 0, summary
    assert summary["objective"] == {"name": "val_price_mae", "direction": "min"}
    assert summary["trials"]["completed"] == 2 and summary["best"]["score"] > 0
    model = keras.saving.load_model(run_dir / "best_model.keras")
    assert [t.name for t in model.inputs] == ["image", "meta"]
    assert model.output_names == ["kind", "price"]
    blocks = summary["best"]["hyperparameters"]["blocks"]
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == blocks
