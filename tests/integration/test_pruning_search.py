"""`tuner.pruner` in a real search: a trial that cannot learn is stopped after the warm-up, kept
with its partial curve, counted against the budget, and never best.

A grid over the learning rate puts a learning trial first and one that cannot learn (a rate of
1e-7) second, so which trial is pruned does not depend on chance.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ktrun.runtime.journal import JOURNAL, read_journal
from tests.integration.test_search import search, write_experiment

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

BODY = """hyperparameters:
  learning_rate: {type: choice, values: [0.01, 1.0e-7]}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: 32, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
  compile:
    optimizer: {name: adam, learning_rate: $learning_rate}
    loss: sparse_categorical_crossentropy
    metrics: [accuracy]
fit: {epochs: 4}
tuner: {algorithm: grid, max_trials: 2}
"""


@pytest.mark.parametrize(
    ("pruner", "after", "said"),
    [
        ("{type: median, warmup_epochs: 1, startup_trials: 1}", 2, "pruned after epoch 2: best val_accuracy"),
        ("{type: successive_halving, min_epochs: 1, reduction_factor: 2}", 1, "pruned at rung 0 (epoch 1)"),
    ],
)
def test_a_trial_that_cannot_learn_is_pruned(tmp_path: Path, pruner: str, after: int, said: str) -> None:
    write_experiment(tmp_path, "prune", BODY)
    rc, summary, run_dir = search(
        tmp_path, "+experiment=prune", f"tuner.pruner={pruner}", "fit.epochs=4", extra=[tmp_path]
    )
    assert rc == 0, summary
    assert summary["trials"]["completed"] == 1 and summary["trials"]["pruned"] == 1, summary["trials"]
    assert summary["best"]["trial_id"] == "0"
    rows = list(csv.DictReader(io.StringIO((run_dir / "trials.csv").read_text())))
    assert [r["status"] for r in rows] == ["completed", "pruned"]
    assert rows[1]["epochs"] == str(after) and rows[1]["message"].startswith(said), rows[1]
    assert float(rows[1]["score"]) < float(rows[0]["score"])  # its partial best, kept
    journal = read_journal(next((tmp_path / "state").rglob(JOURNAL)))
    assert [e["status"] for e in journal] == ["completed", "pruned"]
    trial = json.loads(next((tmp_path / "state").rglob("trial_1/trial.json")).read_text())
    steps = trial["metrics"]["metrics"]["val_accuracy"]["observations"]
    assert len(steps) == after  # the curve up to the cut
    report = (run_dir / "report.md").read_text()
    assert "1 pruned" in report and "## Pruned trials" in report and said in report


def test_a_trial_pruned_in_its_first_execution_trains_no_other(tmp_path: Path) -> None:
    """With `executions_per_trial: 2`, Keras Tuner's loop would train the pruned trial's second
    execution in full after its first was cut: it trains none."""
    write_experiment(tmp_path, "prune", BODY)
    pruner = "{type: successive_halving, min_epochs: 1, reduction_factor: 2}"
    rc, summary, run_dir = search(
        tmp_path,
        "+experiment=prune",
        f"tuner.pruner={pruner}",
        "tuner.executions_per_trial=2",
        "fit.epochs=4",
        extra=[tmp_path],
    )
    assert rc == 0 and summary["trials"]["pruned"] == 1, summary["trials"]
    rows = list(csv.DictReader(io.StringIO((run_dir / "trials.csv").read_text())))
    assert rows[1]["status"] == "pruned" and rows[1]["epochs"] == "1", rows[1]
    journal = read_journal(next((tmp_path / "state").rglob(JOURNAL)))
    assert journal[1]["epochs"] == 1, journal[1]  # trained: one epoch, not 1 + 4


def test_no_trial_is_pruned_at_its_last_epoch(tmp_path: Path) -> None:
    """A rung on `fit.epochs` would label a trial that trained in full pruned (never best, told
    to a sampler as pruned) and save nothing: the pruner gives no verdict there."""
    write_experiment(tmp_path, "prune", BODY)
    pruner = "{type: successive_halving, min_epochs: 1, reduction_factor: 2}"
    rc, summary, _ = search(
        tmp_path, "+experiment=prune", f"tuner.pruner={pruner}", "fit.epochs=1", extra=[tmp_path]
    )
    assert rc == 0 and summary["trials"]["completed"] == 2 and summary["trials"]["pruned"] == 0, summary[
        "trials"
    ]
