"""Fitting in memory: `fit.mixed_precision` (16-bit compute, 32-bit weights and outputs) and the
retry of an out-of-memory trial with half its batch size (`failure_policy.oom_halves_batch`).

The out-of-memory trial is a layer of the user's own that raises TensorFlow's own
`ResourceExhaustedError` when it is traced for batches larger than 16, as a GPU without room for
the batch's activations does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keras
import pytest

from ktrun.pipeline import run_experiment
from ktrun.runtime.journal import JOURNAL, read_journal
from tests.conftest import CONF

pytestmark = [pytest.mark.slow, pytest.mark.keras]

ROOM = """
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="ktrun_test_room")
class Room(keras.layers.Layer):
    \"\"\"Out of memory for batches larger than 16 (found when Keras traces the step for a batch).\"\"\"

    def call(self, x):
        if x.shape[0] is not None and x.shape[0] > 16:
            shape = tuple(x.shape)
            raise tf.errors.ResourceExhaustedError(None, None, f"OOM when allocating tensor of shape {shape}")
        return x
"""


def run(conf: Path, *overrides: str) -> tuple[int, dict[str, object], Path]:
    run_dir = conf / "run"
    rc = run_experiment(
        [
            "data.limit=200",
            "fit.epochs=1",
            "tuner.max_trials=1",
            f"tuner.state_dir={conf / 'state'}",
            *overrides,
        ],
        CONF,
        [conf],
        run_dir,
    )
    return rc, json.loads((run_dir / "summary.json").read_text()), run_dir


@pytest.fixture
def float32_after() -> Iterator[None]:
    """The dtype policy is process-wide: leave it as found, whatever the test does."""
    yield
    keras.config.set_dtype_policy("float32")


@pytest.mark.usefixtures("float32_after")
def test_mixed_precision_computes_in_16_bits_with_32_bit_outputs(tmp_conf: Path) -> None:
    rc, summary, run_dir = run(tmp_conf, "+experiment=digits_mlp", "fit.mixed_precision=true")
    assert rc == 0 and summary["trials"]["completed"] == 1, summary  # type: ignore[index]
    model = keras.saving.load_model(run_dir / "best_model.keras")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense[0].dtype_policy.name == "mixed_bfloat16"  # no GPU here: bfloat16, not float16
    assert dense[-1].dtype_policy.name == "float32" and model.output.dtype == "float32"
    assert all(w.dtype == "float32" for w in model.weights)


def test_an_oom_trial_is_retried_with_half_the_batch(tmp_conf: Path) -> None:
    code = tmp_conf / "code"
    code.mkdir()
    (code / "ktrun_test_room.py").write_text(ROOM)
    (tmp_conf / "experiment" / "roomy.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: roomy}}
custom_objects:
  paths: [{code}]
  layers: {{Room: "ktrun_test_room:Room"}}
fit: {{batch_size: 32}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: custom, layer: Room, output_shape: [64]}}
    - {{type: Dense, units: 10, activation: softmax}}
"""
    )
    rc, summary, run_dir = run(tmp_conf, "+experiment=roomy", "data.test_split=0.2", "final.retrain=true")
    assert rc == 0 and summary["trials"]["completed"] == 1, summary  # type: ignore[index]
    journal = read_journal(next((tmp_conf / "state").rglob(JOURNAL)))
    assert [(e["status"], e["failure_class"]) for e in journal] == [("failed", "oom"), ("completed", None)]
    assert "OOM when allocating" in journal[0]["message"] and journal[1]["batch_size"] == 16
    # The final model trains at the size that fitted (at 32 it would run out of memory again),
    # and the retrain command says it.
    assert summary["final"]["test"], summary["final"]  # type: ignore[index]
    assert "fit.batch_size=16" in (run_dir / "best_hparams.yaml").read_text()

    rc, summary, _ = run(
        tmp_conf, "+experiment=roomy", "failure_policy.oom_halves_batch=false", "tuner.overwrite=true"
    )
    assert summary["trials"]["completed"] == 0 and summary["trials"]["failed_by_reason"]["oom"] == 1, summary  # type: ignore[index]
