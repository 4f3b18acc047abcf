"""`tuner.algorithm: tpe` and `cmaes`: Optuna's samplers proposing over ktrun's space.

Every trained point satisfies the constraints (a rejected proposal is told to the sampler as
infeasible and never trained), conditional hyperparameters are proposed only where active, and a
resumed search rebuilds the study from its trial files and never trains a point twice.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ktrun.analysis.values import _value_at
from ktrun.runtime.optuna_oracle import Encoding
from ktrun.spec.hyperparameters import FloatHp, IntHp
from tests.conftest import REPO
from tests.integration.test_search import search, write_experiment

#: Their searches assert nothing about the plots (tests/unit/test_plots.py does).
pytestmark = [pytest.mark.usefixtures("no_plots")]

TPE = ["+experiment=digits_mlp", "tuner=tpe", "tuner.tpe.n_startup_trials=2", "fit.epochs=1"]
#: A point of digits_mlp's space (units_2 <= units_1).
POINT = {"units_1": 64, "units_2": 32, "activation": "tanh", "dropout": 0.3, "learning_rate": 0.001}


def digits_mlp_oracle(algorithm: str, *overrides: str, **kwargs: Any) -> tuple[Any, Any]:
    """The oracle a search of digits_mlp with `algorithm` makes (no tuner around it), and its plan."""
    import keras_tuner as kt

    from ktrun.compiler.keras_model import declare_hyperparameters
    from ktrun.compiler.plan import compile_plan
    from ktrun.pipeline import check_one
    from ktrun.runtime.oracles import make_oracle

    report = check_one(["+experiment=digits_mlp", f"tuner={algorithm}", *overrides])
    assert report.checked is not None
    plan = compile_plan(report.checked)
    oracle = make_oracle(
        algorithm,
        checker=plan.checked.checker,
        space=plan.checked.space,
        settings=plan.spec.tuner,
        objective=kt.Objective("val_accuracy", "max"),
        hyperparameters=declare_hyperparameters(plan),
        **kwargs,
    )
    return oracle, plan


def end_trial(oracle: Any, plan: Any, score: float, point: dict[str, Any]) -> None:
    """A trial that completed with `score` at `point`, as a resumed oracle finds it."""
    from keras_tuner.engine.trial import Trial, TrialStatus

    from ktrun.compiler.keras_model import declare_hyperparameters

    hp = declare_hyperparameters(plan)
    hp.values.update(point)
    trial = Trial(hp, trial_id=str(len(oracle.trials)), status=TrialStatus.COMPLETED)
    trial.score = score
    oracle.trials[trial.trial_id] = trial
    oracle.end_order.append(trial.trial_id)


def resumes_feasibly_without_repeats(
    tmp_path: Path, args: list[str], first: int, total: int
) -> dict[str, Any]:
    """A search of `first` trials resumed to `total`: every point trained meets units_2 <= units_1,
    and none twice; the resumed run's summary."""
    rc, summary, _ = search(tmp_path, *args, f"tuner.max_trials={first}")
    assert rc == 0 and summary["trials"]["completed"] == first, summary
    rc, again, run_dir = search(tmp_path, *args, f"tuner.max_trials={total}", run="again")
    assert rc == 0 and again["trials"]["completed"] == total and again["resumed_trials"] == first, again
    rows = (run_dir / "trials.csv").read_text().splitlines()
    header = rows[0].split(",")
    points = [dict(zip(header, r.split(","), strict=False)) for r in rows[1:]]
    assert all(int(p["units_2"]) <= int(p["units_1"]) for p in points), points
    keys = {tuple(p[k] for k in POINT) for p in points}
    assert len(keys) == len(points) == total  # no point trained twice, across the resume
    return again


@pytest.mark.parametrize(
    "decl",
    [
        IntHp(type="int", min=32, max=256, step=32),
        IntHp(type="int", min=16, max=256, step=2, sampling="log"),
        FloatHp(type="float", min=0.0, max=0.4, step=0.1),
        FloatHp(type="float", min=1e-4, max=1e-1, step=10, sampling="log"),
        FloatHp(type="float", min=0.1, max=0.9, step=2, sampling="reverse_log"),
    ],
)
def test_a_stepped_range_is_its_values_index_both_ways(decl: IntHp | FloatHp) -> None:
    enc = Encoding(decl)
    n = enc.distribution.high + 1
    assert enc.indexed and n >= 3
    for i in range(n):
        assert enc.encode(enc.decode(i)) == i
        assert enc.decode(i) == _value_at(decl, i)


def test_a_continuous_range_is_itself() -> None:
    enc = Encoding(FloatHp(type="float", min=1e-4, max=1e-2, sampling="log"))
    assert not enc.indexed and enc.distribution.log and enc.encode(3e-3) == 3e-3


@pytest.mark.slow
@pytest.mark.keras
def test_tpe_trains_only_feasible_points_and_resumes_without_repeats(tmp_path: Path) -> None:
    resumes_feasibly_without_repeats(tmp_path, TPE, 4, 6)


@pytest.mark.slow
@pytest.mark.keras
def test_conditional_and_repeated_hyperparameters_are_proposed_only_where_active(tmp_path: Path) -> None:
    write_experiment(
        tmp_path,
        "stack",
        """hyperparameters:
  layers: {type: int, min: 1, max: 3}
  units: {type: choice, values: [8, 16, 32]}
  optimizer: {type: choice, values: [adam, sgd]}
  momentum: {type: float, min: 0.0, max: 0.9, when: {optimizer: [sgd]}}
model:
  layers:
    - {type: Flatten}
    - {type: repeat, times: $layers, layers: [{type: Dense, units: $units, activation: relu}]}
    - {type: Dense, units: 10, activation: softmax}
  compile:
    optimizer: {name: $optimizer, per_optimizer: {sgd: {momentum: $momentum}}}
    loss: sparse_categorical_crossentropy
    metrics: [accuracy]
""",
    )
    rc, summary, run_dir = search(
        tmp_path, "+experiment=stack", "tuner=cmaes", "tuner.max_trials=4", "fit.epochs=1", extra=[tmp_path]
    )
    assert rc == 0 and summary["trials"]["completed"] == 4, summary
    rows = (run_dir / "trials.csv").read_text().splitlines()
    header = rows[0].split(",")
    for row in rows[1:]:
        p = dict(zip(header, row.split(","), strict=False))
        assert (p["momentum"] != "") == (p["optimizer"] == "sgd"), p
        for i in range(1, 4):
            assert (p[f"units_{i}"] != "") == (i <= int(p["layers"])), p


def test_check_says_how_to_install_optuna_where_it_is_missing() -> None:
    code = (
        "import sys\nsys.modules['optuna'] = None\nfrom ktrun.cli import main\n"
        "sys.argv = ['ktrun', 'check', '+experiment=digits_mlp', 'tuner=tpe']\nsys.exit(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 2, proc.stdout
    assert "[algorithm-needs-optuna] tuner.algorithm" in proc.stdout and "pip install 'optuna" in proc.stdout


@pytest.mark.keras
def test_a_resumed_study_is_told_each_ended_trial_s_score() -> None:
    """The study rebuilt on resume holds each ended trial's values and its score."""
    oracle, plan = digits_mlp_oracle("tpe", max_trials=5)
    end_trial(oracle, plan, 0.875, POINT)
    (told,) = oracle._study().trials
    assert told.value == 0.875 and told.params["activation"] == "tanh"


NSGA2 = [
    "+experiment=digits_mlp",
    "tuner=nsga2",
    "tuner.nsga2.population_size=2",
    "fit.epochs=1",
    "objective=[{name: val_accuracy}, {name: params, direction: min}]",
]


@pytest.mark.slow
@pytest.mark.keras
def test_nsga2_searches_accuracy_against_size_and_resumes_without_repeats(tmp_path: Path) -> None:
    again = resumes_feasibly_without_repeats(tmp_path, NSGA2, 3, 5)
    assert again["pareto"]["front"], again["pareto"]


@pytest.mark.keras
def test_nsga2_is_told_every_objective_and_infeasible_proposals_as_failed() -> None:
    """The study holds each ended trial's value for every objective (rebuilt on resume), and a
    proposal the constraints reject is told it failed (NSGA-II counts every completed trial into
    its generation, so rejected points told as completed crowded out the trained ones)."""
    oracle, plan = digits_mlp_oracle("nsga2", max_trials=40, seed=3)
    oracle.ktrun_directions = ("max", "min")
    oracle.ktrun_objective_values = lambda trial: [
        trial.score,
        1000.0 * trial.hyperparameters.values["units_1"],
    ]
    end_trial(oracle, plan, 0.875, POINT)
    study = oracle._study()
    assert study.directions[1].name == "MINIMIZE"
    assert study.trials[0].values == [0.875, 64000.0]
    for i in range(30):
        response = oracle.populate_space(f"n{i}")
        values = response["values"]
        assert values["units_2"] <= values["units_1"], values
    rejected = [t for t in study.trials if t.state.name == "FAIL"]  # not in a generation: it never trained
    assert rejected, "units_2 > units_1 for about half of the random points: some were proposed"
    assert sum(oracle.ktrun_rejected.values()) == len(rejected)
    assert not [t for t in study.trials if t.state.name == "COMPLETE"][1:]  # only trial 0 ended
