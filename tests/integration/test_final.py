"""The final stage on real tiny searches: a test split the search never sees, the best
configuration retrained on training + validation rows for its best epoch count, scored once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ktrun.pipeline import EXIT_FAILED, EXIT_OK, run_experiment
from tests.conftest import CONF

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

QUICK = ["data.limit=200", "fit.epochs=2", "fit.batch_size=64", "tuner.max_trials=1"]


def final_run(tmp_path: Path, *overrides: str) -> tuple[int, dict[str, Any], Path]:
    run_dir = tmp_path / "run"
    rc = run_experiment(
        [*QUICK, f"tuner.state_dir={tmp_path / 'state'}", "final.retrain=true", *overrides], CONF, [], run_dir
    )
    return rc, json.loads((run_dir / "summary.json").read_text()), run_dir


def test_final_retrains_the_best_trial_and_scores_it_on_held_out_rows(tmp_path: Path) -> None:
    import keras

    rc, summary, run_dir = final_run(tmp_path, "data.test_split=0.25")
    assert rc == EXIT_OK
    final = summary["final"]
    # every compiled metric, by its Keras name
    assert set(final["test"]) == {"loss", "accuracy"}
    assert 0.0 <= final["test"]["accuracy"] <= 1.0
    assert final["test_rows"] == 50 and final["train_rows"] == 150  # 200 rows: 50 test, 30 val, 120 train
    trial = json.loads(next((tmp_path / "state").rglob("trial.json")).read_text())
    assert final["epochs"] == trial["best_step"] + 1
    model = keras.models.load_model(final["model"])
    assert model.count_params() > 0
    assert Path(final["model"]) == run_dir / "final_model.keras"
    assert "## Final score on the test split" in (run_dir / "report.md").read_text()


def test_a_failed_final_stage_keeps_the_search_results(tmp_path: Path) -> None:
    """A run directory the final model cannot be saved in: the search's results stay, exit 1."""
    run_dir = tmp_path / "run"
    (run_dir / "final_model.keras").mkdir(parents=True)  # a directory where the model goes
    (run_dir / "final_model.keras" / "x").write_text("keep")
    rc = run_experiment(
        [*QUICK, f"tuner.state_dir={tmp_path / 'state'}", "final.retrain=true", "data.test_split=0.25"],
        CONF,
        [],
        run_dir,
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == EXIT_FAILED
    assert summary["status"] == "completed" and summary["best"] is not None
    assert summary["final"]["test"] is None and summary["final"]["error"]
