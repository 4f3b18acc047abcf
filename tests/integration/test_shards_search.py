"""`data.source: shards` end to end on a tiny sharded set the test writes: a search reading the
shards as a stream, the final stage scoring on the test split, and a resumed search that trains
nothing again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ktrun.pipeline import EXIT_OK, run_experiment
from tests.conftest import CONF

pytestmark = [pytest.mark.slow, pytest.mark.keras]


def write_shards(directory: Path, shards: int = 4, rows: int = 50, seed: int = 0) -> Path:
    """`shards` files of `rows` 8x8x1 samples with labels 0..9 that depend on the pixels."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    for i in range(shards):
        y = np.arange(rows) % 10
        x = rng.normal(size=(rows, 8, 8, 1)).astype(np.float32)
        x[:, 0, 0, 0] += 3 * y  # learnable
        np.savez(directory / f"part-{i:03d}.npz", x=x, y=y)
    return directory


def overrides(tmp_path: Path, data: Path, trials: int = 2, final: bool = True) -> list[str]:
    return [
        "data=shards",
        f"data.path={data}",
        "data.test_split=0.1",
        "fit.epochs=1",
        "fit.batch_size=16",
        f"tuner.max_trials={trials}",
        f"final.retrain={str(final).lower()}",
        f"tuner.state_dir={tmp_path / 'state'}",
    ]


def test_a_search_streams_the_shards_scores_the_test_split_and_resumes(tmp_path: Path) -> None:
    data = write_shards(tmp_path / "shards")
    run = tmp_path / "run"
    rc = run_experiment(overrides(tmp_path, data), CONF, [], run)
    assert rc == EXIT_OK
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["trials"]["completed"] == 2
    final = summary["final"]
    # 200 rows, 20 held out for the test split shard by shard, 36 for validation, 144 to train on
    assert final["test_rows"] == 20 and final["train_rows"] == 180
    assert set(final["test"]) == {"loss", "accuracy"} and 0.0 <= final["test"]["accuracy"] <= 1.0

    again = tmp_path / "again"
    rc = run_experiment(overrides(tmp_path, data), CONF, [], again)
    assert rc == EXIT_OK
    resumed = json.loads((again / "summary.json").read_text())
    assert resumed["trials"]["completed"] == 2
    assert resumed["best"]["trial_id"] == summary["best"]["trial_id"]
    assert resumed["best"]["score"] == summary["best"]["score"]


def test_stored_class_ids_train_a_one_hot_loss(tmp_path: Path) -> None:
    data = write_shards(tmp_path / "shards", shards=2, rows=30)
    run = tmp_path / "run"
    rc = run_experiment(
        [
            *overrides(tmp_path, data, trials=1, final=False),
            "data.labels=one_hot",
            "model.compile.loss=categorical_crossentropy",
        ],
        CONF,
        [],
        run,
    )
    assert rc == EXIT_OK
    summary = json.loads((run / "summary.json").read_text())
    assert summary["trials"]["completed"] == 1 and summary["best"]["score"] is not None
