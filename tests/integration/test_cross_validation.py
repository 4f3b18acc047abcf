"""`fit.cross_validation`: real tiny searches whose trials train once per fold.

The score a trial reports to the oracle is the mean of its folds' best-epoch objective; the
folds' own scores reach summary.json (`best.score_folds`) and their spread trials.csv (`score_std`).
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from ktrun.pipeline import run_experiment
from tests.conftest import CONF

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

QUICK = ["data.limit=150", "fit.epochs=1", "fit.batch_size=64"]


def search(tmp_path: Path, *overrides: str, folds: int = 3) -> tuple[int, dict[str, Any], Path]:
    run_dir = tmp_path / "run"
    state = f"tuner.state_dir={tmp_path / 'state'}"
    rc = run_experiment([*QUICK, f"fit.cross_validation.folds={folds}", state, *overrides], CONF, [], run_dir)
    return rc, json.loads((run_dir / "summary.json").read_text()), run_dir


def test_a_trial_scores_the_mean_of_its_folds(tmp_path: Path) -> None:
    rc, summary, run_dir = search(tmp_path, "tuner.max_trials=2")
    assert rc == 0 and summary["trials"]["completed"] == 2
    best = summary["best"]
    assert len(best["score_folds"]) == 3
    assert best["score"] == pytest.approx(statistics.fmean(best["score_folds"]))
    assert all(0.0 <= s <= 1.0 for s in best["score_folds"])
    with (run_dir / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and "score_std" in rows[0]
    mine = next(r for r in rows if r["trial_id"] == best["trial_id"])
    assert float(mine["score_std"]) == pytest.approx(statistics.pstdev(best["score_folds"]), abs=1e-6)
    assert int(mine["epochs"]) == 3  # one epoch per fold


def test_hyperband_trains_each_fold_for_the_rounds_epochs(tmp_path: Path) -> None:
    rc, summary, run_dir = search(
        tmp_path,
        "tuner=hyperband",
        "tuner.max_trials=4",
        "tuner.hyperband.max_epochs=2",
        "tuner.hyperband.factor=2",
        folds=2,  # each of a round's models trains once per fold: 2 folds tell as much as 3
    )
    assert rc == 0 and summary["status"] in ("completed", "exhausted")
    assert summary["trials"]["failed"] == 0 and summary["trials"]["completed"] >= 2
    assert summary["best"]["score"] == pytest.approx(statistics.fmean(summary["best"]["score_folds"]))
    with (run_dir / "trials.csv").open() as f:
        epochs = {int(r["epochs"]) for r in csv.DictReader(f)}
    # A round's trial trains its `tuner/epochs` on each of the 2 folds, from scratch (no weights
    # handed over: they were trained on rows other folds validate on).
    assert epochs <= {2, 4} and 4 in epochs


NAN_PRONE = """# @package _global_
defaults:
  - override /model: none
experiment: {name: nanprone}
data: {normalize: none}
hyperparameters:
  units: {type: choice, values: [16, 32]}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: $units, activation: exponential, kernel_initializer: ones}
    - {type: Dense, units: 10, activation: softmax}
"""


def test_a_fold_that_turns_nan_fails_the_trial_as_nan(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "nanprone.yaml").write_text(NAN_PRONE)
    run_dir = tmp_path / "run"
    rc = run_experiment(
        [
            *QUICK,
            "fit.cross_validation.folds=3",
            "+experiment=nanprone",
            "tuner.max_trials=1",
            f"tuner.state_dir={tmp_path / 'state'}",
        ],
        CONF,
        [conf],
        run_dir,
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["trials"]["failed_by_reason"]["nan"] == 1 and summary["best"] is None
    assert rc != 2


def test_the_final_stage_retrains_on_every_training_row_for_the_folds_best_epoch(tmp_path: Path) -> None:
    rc, summary, _ = search(tmp_path, "tuner.max_trials=1", "data.test_split=0.2", "final.retrain=true")
    assert rc == 0 and summary["trials"]["completed"] == 1
    final = summary["final"]
    assert final["epochs"] == 1 and 0.0 <= final["test"]["accuracy"] <= 1.0
    assert final["train_rows"] == 120  # 150 rows less the 30 of the test split: no validation split
