"""`tuner.warm_start.points`: configurations trained first, held to the space like any proposal."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ktrun.pipeline import check_one
from tests.hostile.expect import problem
from tests.integration.test_optuna_search import POINT, digits_mlp_oracle
from tests.integration.test_search import search

#: Their searches assert nothing about the plots (tests/unit/test_plots.py does).
pytestmark = [pytest.mark.usefixtures("no_plots")]

GOOD = "{units_1: 64, units_2: 32, activation: tanh, dropout: 0.3, learning_rate: 0.001}"


def warm(*points: str) -> str:
    return f"tuner.warm_start={{points: [{', '.join(points)}]}}"


@pytest.mark.parametrize(
    ("point", "key", "said"),
    [
        ("{units_1: 64, units_2: 128, activation: relu, dropout: 0.1, learning_rate: 0.001}",
         "tuner.warm_start.points.0", "cannot train: it breaks units_2 <= units_1"),
        ("{units_1: 7, units_2: 16, activation: relu, dropout: 0.1, learning_rate: 0.001}",
         "tuner.warm_start.points.0.units_1", "units_1=7 is not a value"),
        ("{units_1: 64, units_2: 16, activation: relu, dropout: 0.1, learning_rate: 0.001, momentum: 0.9}",
         "tuner.warm_start.points.0.momentum", "names `momentum`, no hyperparameter"),
        ("{units_1: 64}", "tuner.warm_start.points.0", "gives no value to units_2, activation"),
        ("{units_1: 64, units_2: 16, activation: true, dropout: 0.1, learning_rate: 0.001}",
         "tuner.warm_start.points.0.activation", "activation=True is not a value"),
    ],
)  # fmt: skip
def test_a_point_that_could_not_train_is_a_config_error(point: str, key: str, said: str) -> None:
    override = warm(point)
    report = check_one(["+experiment=digits_mlp", override])
    found = problem(report.problems, "warm-start-invalid", key=key, override=override)
    assert said in found.message, found.message
    assert report.failed()


def test_a_typed_value_matches_its_stepped_value_and_hyperband_takes_no_points() -> None:
    assert not check_one(
        ["+experiment=digits_mlp", warm(GOOD)]
    ).errors  # 0.3 is the stepped 0.30000000000000004
    report = check_one(["+experiment=digits_mlp", "tuner=hyperband", warm(GOOD)])
    assert (
        "plans its own brackets"
        in problem(report.problems, "warm-start-invalid", key="tuner.warm_start").message
    )


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize(
    ("tuner", "more"),
    [("random", []), ("tpe", []), ("grid", ["+pin.learning_rate=0.001"])],  # a finite grid
)
def test_the_points_train_first_and_a_resume_does_not_train_them_again(
    tmp_path: Path, tuner: str, more: list[str]
) -> None:
    second = "{units_1: 96, units_2: 96, activation: relu, dropout: 0.0, learning_rate: 0.01}"
    args = ["+experiment=digits_mlp", f"tuner={tuner}", "fit.epochs=1", warm(GOOD, second), *more]
    rc, summary, run_dir = search(tmp_path, *args, "tuner.max_trials=3")
    assert rc == 0 and summary["trials"]["completed"] == 3, summary
    rows = list(csv.DictReader(io.StringIO((run_dir / "trials.csv").read_text())))
    assert [(r["units_1"], r["units_2"], r["activation"]) for r in rows[:2]] == [
        ("64", "32", "tanh"),
        ("96", "96", "relu"),
    ]
    rc, again, run_dir = search(tmp_path, *args, "tuner.max_trials=4", run="again")
    rows = list(csv.DictReader(io.StringIO((run_dir / "trials.csv").read_text())))
    assert rc == 0 and again["trials"]["completed"] == 4 and again["resumed_trials"] == 3, again
    assert sum(r["units_1"] == "64" and r["units_2"] == "32" and r["activation"] == "tanh" for r in rows) == 1


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize("tuner", ["tpe", "bayesian"])
def test_an_earlier_search_s_trials_are_history_not_budget_and_never_trained_again(
    tmp_path: Path, tuner: str
) -> None:
    """`tuner.warm_start.search`: the earlier run directory's completed trials are told to the
    algorithm; the new search still trains its whole budget, none of it on an earlier point,
    and a resume of it reads the same history."""
    base = ["+experiment=digits_mlp", "fit.epochs=1"]
    rc, earlier, earlier_dir = search(tmp_path, *base, "tuner.max_trials=4", run="earlier")
    assert rc == 0 and earlier["trials"]["completed"] == 4, earlier
    keys = ("units_1", "units_2", "activation", "dropout", "learning_rate")
    known = {
        tuple(r[k] for k in keys)
        for r in csv.DictReader(io.StringIO((earlier_dir / "trials.csv").read_text()))
    }
    args = [*base, f"tuner={tuner}", f"tuner.warm_start={{search: {earlier_dir}}}"]
    if tuner == "bayesian":
        args.append("tuner.bayesian.num_initial_points=2")  # fewer than the history: the GP proposes
    rc, summary, run_dir = search(tmp_path, *args, "tuner.max_trials=2")
    assert rc == 0 and summary["trials"]["completed"] == 2 and summary["history_trials"] == 4, summary
    rows = list(csv.DictReader(io.StringIO((run_dir / "trials.csv").read_text())))
    assert [r["trial_id"] for r in rows] == ["0", "1"]  # the earlier trials are not this search's
    assert not {tuple(r[k] for k in keys) for r in rows} & known
    assert "4 trial(s) of an earlier search" in (run_dir / "report.md").read_text()
    rc, again, _ = search(tmp_path, *args, "tuner.max_trials=3", run="again")
    assert rc == 0 and again["resumed_trials"] == 2 and again["history_trials"] == 4, again
    assert again["trials"]["completed"] == 3


@pytest.mark.keras
def test_bayesian_optimisation_fits_its_process_to_the_history_and_forgets_it_after() -> None:
    """With as many earlier trials as its initial points, Keras Tuner's Gaussian process proposes
    the first point (no random draw), and the history never stays among the oracle's trials."""
    from ktrun.runtime.history import Told

    def oracle(history: list[Told]) -> tuple[object, list[int]]:
        made, _ = digits_mlp_oracle(
            "bayesian", "tuner.bayesian.num_initial_points=3", max_trials=10, seed=1, num_initial_points=3
        )
        made.ktrun_history = history
        draws: list[int] = []
        own = made.ktrun_random_values
        made.ktrun_random_values = lambda: draws.append(1) or own()
        response = made.populate_space("0")
        assert response["status"] == "RUNNING" and not any(t.startswith("history") for t in made.trials)
        return made, draws

    history = [
        Told(str(i), {**POINT, "units_1": u, "units_2": u // 2}, (0.5 + i / 10,))
        for i, u in enumerate((64, 128, 192, 256))
    ]
    _, draws = oracle([])
    assert draws, "without history, the first point is a random draw"
    _, draws = oracle(history)
    assert not draws, "with 4 earlier trials >= 3 initial points, the process proposes"
