"""Search budgets beyond the trial count: `tuner.time_limit`, `tuner.target_score`, `tuner.patience`.

A spent budget ends the search as `stopped`, with a `stop_reason` in summary.json, exit code 0
and the best trial kept; the budgets are not part of the search's identity, so a re-run resumes
the same search and honours what is left of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras_tuner as kt
import pytest
from keras_tuner.engine.trial import Trial

from ktrun.runtime.budget import Budget
from tests.integration.test_search import search

#: Their searches assert nothing about the plots (tests/unit/test_plots.py does).
pytestmark = [pytest.mark.usefixtures("no_plots")]

QUICK = ["+experiment=digits_mlp", "tuner.max_trials=6"]


def trials(*scores: float | None) -> tuple[dict[str, Trial], list[str]]:
    """Keras Tuner's own trials, ended in this order with these scores (None: failed)."""
    found: dict[str, Trial] = {}
    for i, score in enumerate(scores):
        trial = Trial(
            kt.HyperParameters(), trial_id=f"{i:02d}", status="COMPLETED" if score is not None else "FAILED"
        )
        trial.score = score
        found[trial.trial_id] = trial
    return found, list(found)


@pytest.mark.parametrize(
    ("budget", "scores", "stops"),
    [
        (Budget(target_score=0.9), (0.5, 0.8), None),
        (Budget(target_score=0.9), (0.5, 0.9), "trial 01 has score = 0.9"),
        (Budget(target_score=0.2, direction="min"), (0.5, 0.3), None),
        (Budget(target_score=0.2, direction="min"), (0.5, 0.1), "reached: trial 01"),
        (
            Budget(patience=2),
            (0.5, 0.6, 0.4, 0.6),
            "2 trials in a row (pruned ones too) without a better score than trial 01's 0.6",
        ),
        (Budget(patience=2), (0.5, 0.6, 0.4, 0.7), None),
        (Budget(patience=2), (0.5, 0.6, None, None, 0.4), None),  # failed trials are no evidence
        (Budget(patience=1, direction="min"), (0.5, 0.6), "than trial 00's 0.5"),
        (Budget(patience=1), (float("nan"), 0.5), None),  # a NaN score is no trial to compare with
        (Budget(), (0.1, 0.1, 0.1), None),
    ],
)
def test_target_and_patience_read_the_ended_trials(
    budget: Budget, scores: tuple[float | None, ...], stops: str | None
) -> None:
    reason = budget.stop_reason(*trials(*scores))
    if stops is None:
        assert reason is None
    else:
        assert reason is not None and stops in reason, reason


def test_a_pruned_trial_never_reaches_the_target() -> None:
    """Keras Tuner holds a pruned trial completed with its partial best; it is never the best."""
    budget = Budget(target_score=0.9)
    found, order = trials(0.5, 0.95, 0.92)
    reason = budget.stop_reason(found, order, pruned={"01"})
    assert reason is not None and "trial 02 has" in reason, reason
    assert budget.stop_reason(found, order, pruned={"01", "02"}) is None


def test_a_pruned_trial_is_never_the_best_patience_counts_from_but_counts_as_no_better() -> None:
    budget = Budget(patience=2)
    found, order = trials(0.5, 0.95, 0.4, 0.45)  # 01's partial best 0.95 is no model's best
    reason = budget.stop_reason(found, order, pruned={"01"})
    assert reason is not None and "3 trials in a row" in reason and "than trial 00's 0.5" in reason, reason
    found, order = trials(0.5, 0.4, 0.6)
    assert budget.stop_reason(found, order, pruned={"01"}) is None  # 02 beat 00 after one pruned


def test_wall_time_adds_up_over_runs() -> None:
    budget = Budget(time_limit=100, used=99.0)
    assert budget.stop_reason({}, []) is None
    budget.used = 100.0
    reason = budget.stop_reason({}, [])
    assert reason is not None and reason.startswith("tuner.time_limit=100 s reached")


@pytest.mark.slow
@pytest.mark.keras
def test_a_target_score_stops_the_search_and_a_rerun_stops_at_once(tmp_path: Path) -> None:
    rc, summary, _ = search(tmp_path, *QUICK, "tuner.target_score=0.05")
    assert rc == 0 and summary["status"] == "stopped", summary
    assert summary["trials"]["completed"] == 1 and summary["best"] is not None
    assert summary["stop_reason"].startswith("tuner.target_score=0.05 reached: trial 0 has val_accuracy")
    rc, again, run_dir = search(
        tmp_path, *QUICK, "tuner.target_score=0.05", "tuner.max_trials=9", run="again"
    )
    assert rc == 0 and again["status"] == "stopped" and again["trials"]["completed"] == 1, again
    assert again["resumed_trials"] == 1  # the same search, not a new one
    assert "stopped (tuner.target_score=0.05 reached" in (run_dir / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.keras
def test_a_time_limit_counts_the_time_earlier_runs_used(tmp_path: Path) -> None:
    rc, summary, _ = search(tmp_path, *QUICK, "tuner.max_trials=2")
    assert rc == 0 and summary["status"] == "completed" and summary["trials"]["completed"] == 2
    oracle = next((tmp_path / "state").rglob("oracle.json"))
    used = json.loads(oracle.read_text())["ktrun_seconds"]
    assert used > 0
    # A limit below what the first run used: the resumed search starts no trial.
    rc, again, _ = search(tmp_path, *QUICK, f"tuner.time_limit={used / 2}", "tuner.max_trials=4", run="again")
    assert rc == 0 and again["status"] == "stopped", again
    assert again["trials"]["completed"] == 2 and again["stop_reason"].startswith("tuner.time_limit=")
