"""Several objectives: the Pareto front, the `objective_best` rules, and the files that show them."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from ktrun.analysis.pareto import Limits, Objective, choose, dominates, front, knee
from ktrun.results.files import summary_dict, trials_csv, write_results
from ktrun.results.trials import pareto_sentence
from ktrun.runtime.outcome import SearchOutcome, TrialRecord

ACC_SIZE = [Objective("val_accuracy", "max"), Objective("params", "min")]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_dominance_respects_each_direction_and_equal_points_dominate_neither() -> None:
    assert dominates((0.9, 100), (0.8, 200), ACC_SIZE)
    assert dominates((0.9, 100), (0.9, 200), ACC_SIZE)  # as good in one, better in the other
    assert not dominates((0.9, 200), (0.8, 100), ACC_SIZE)  # a trade-off
    assert not dominates((0.9, 100), (0.9, 100), ACC_SIZE)
    assert dominates((0.1, 5), (0.2, 9), [Objective("val_loss", "min"), Objective("flops", "min")])


def test_the_front_keeps_trade_offs_and_ties_and_drops_the_dominated() -> None:
    points = [
        ("a", (0.95, 9000.0)),  # most accurate
        ("b", (0.90, 1000.0)),  # smaller, less accurate: a trade-off
        ("c", (0.89, 5000.0)),  # worse than b in both
        ("d", (0.90, 1000.0)),  # ties b exactly: both stay
        ("e", (0.50, 100.0)),  # smallest
        ("f", (math.nan, 10.0)),  # no value: takes no part
    ]
    assert [p[0] for p in front(points, ACC_SIZE)] == ["a", "b", "d", "e"]


def test_best_rules_first_knee_and_limits() -> None:
    points = [("a", (0.95, 9000.0)), ("b", (0.93, 1200.0)), ("c", (0.60, 100.0)), ("d", (0.95, 9500.0))]
    # first: the most accurate; of the two at 0.95, the smaller (the one on the front)
    assert choose(points, ACC_SIZE, "first") == ("a", (0.95, 9000.0))
    # knee: b is 0.06 of the accuracy range below the best and 0.12 of the size range above it
    assert knee(points, ACC_SIZE) == ("b", (0.93, 1200.0))
    assert choose(points, ACC_SIZE, "knee") == ("b", (0.93, 1200.0))
    # limits: the most accurate of those with at most 1000 weights; none within impossible limits
    assert choose(points, ACC_SIZE, Limits({"params": 1000}, {})) == ("c", (0.60, 100.0))
    assert choose(points, ACC_SIZE, Limits({}, {"val_accuracy": 0.94})) == ("a", (0.95, 9000.0))
    assert choose(points, ACC_SIZE, Limits({"params": 10}, {})) is None
    assert choose([], ACC_SIZE, "knee") is None


def _trial(tid: str, acc: float, params: int) -> TrialRecord:
    return TrialRecord(
        tid,
        "completed",
        {"units": params // 10},
        score=acc,
        epochs=1,
        objectives={"val_accuracy": acc, "params": params},
    )


def _outcome(rule: str | Limits = "first") -> SearchOutcome:
    return SearchOutcome(
        experiment="digits_mlp",
        objective_name="val_accuracy",
        direction="max",
        status="completed",
        trials=[
            _trial("0", 0.95, 85000),
            _trial("1", 0.93, 12000),
            _trial("2", 0.90, 40000),  # dominated by 1
            TrialRecord("3", "failed", {"units": 8}, failure_class="oom"),
            _trial("4", 0.70, 2800),
        ],
        seconds=3.0,
        hyperparameter_names=["units"],
        objectives=ACC_SIZE,
        best_rule=rule,  # type: ignore[arg-type]
    )


def test_summary_json_gives_the_front_and_the_best_by_the_rule() -> None:
    data = summary_dict(_outcome("knee"))
    pareto = data["pareto"]
    assert pareto["objectives"] == [
        {"name": "val_accuracy", "direction": "max"},
        {"name": "params", "direction": "min"},
    ]
    assert [t["trial_id"] for t in pareto["front"]] == ["0", "1", "4"]
    assert pareto["front"][1]["values"] == {"val_accuracy": 0.93, "params": 12000}
    assert pareto["best_rule"] == "knee" and pareto["best"] == "1" == data["best"]["trial_id"]
    assert [t["on_front"] for t in pareto["trials"]] == [True, True, False, True]
    assert summary_dict(_outcome())["best"]["trial_id"] == "0"  # first: the most accurate
    limited = summary_dict(_outcome(Limits({"params": 20000}, {})))
    assert limited["best"]["trial_id"] == "1" and limited["pareto"]["best_rule"] == {
        "max": {"params": 20000},
        "min": {},
    }
    assert summary_dict(_outcome(Limits({"params": 100}, {})))["best"] is None
    json.dumps(data, allow_nan=False)


def test_trials_csv_gains_a_column_per_objective_after_the_first() -> None:
    rows = list(csv.DictReader(io.StringIO(trials_csv(_outcome()))))
    assert [r["params"] for r in rows] == ["85000", "12000", "40000", "", "2800"]
    assert rows[0]["score"] == "0.95"


def test_report_plot_and_terminal_line(tmp_path: Path) -> None:
    written = write_results(_outcome("knee"), tmp_path)
    names = {p.name for p in written}
    assert "pareto.png" in names
    assert (tmp_path / "pareto.png").read_bytes().startswith(PNG_MAGIC)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Pareto front" in report and "![pareto](pareto.png)" in report
    assert "| 1 (best) | 0.93 | 12000 |" in report
    assert "knee of the front" in report
    assert pareto_sentence(_outcome("knee")) == (
        "Pareto front over val_accuracy (max), params (min): trial(s) 0, 1, 4; "
        "best (knee of the front): trial 1."
    )


def test_three_objectives_plot_pairwise(tmp_path: Path) -> None:
    outcome = _outcome()
    objectives = [*ACC_SIZE, Objective("flops", "min")]
    trials = [
        TrialRecord(
            t.trial_id,
            t.status,
            t.hyperparameters,
            score=t.score,
            failure_class=t.failure_class,
            objectives={**t.objectives, "flops": 2 * int(t.objectives["params"] or 0) + i},
        )
        if t.status == "completed"
        else t
        for i, t in enumerate(outcome.trials)
    ]
    three = SearchOutcome(**{**outcome.__dict__, "trials": trials, "objectives": objectives})
    write_results(three, tmp_path)
    assert (tmp_path / "pareto.png").read_bytes().startswith(PNG_MAGIC)
    assert summary_dict(three)["pareto"]["front"][0]["values"]["flops"] == 170000


def test_a_single_objective_has_no_pareto_section(tmp_path: Path) -> None:
    single = SearchOutcome(**{**_outcome().__dict__, "objectives": []})
    assert "pareto" not in summary_dict(single)
    write_results(single, tmp_path)
    assert not (tmp_path / "pareto.png").exists()
    assert "Pareto" not in (tmp_path / "report.md").read_text(encoding="utf-8")
