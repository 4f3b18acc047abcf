"""The plots, read through matplotlib's figure objects: axes, tick labels, lines and bars."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ktrun.results import plots
from ktrun.results.files import write_results
from ktrun.results.sweep import JobRow, sweep_figure
from ktrun.runtime.outcome import HpAxis, SearchOutcome, TrialRecord
from ktrun.spec.refs import Scalar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

AXES = {
    "units": HpAxis("int", False, (32, 64, 96, 128)),
    "kernel": HpAxis("choice", False, (3, 5, 7)),
    "activation": HpAxis("choice", False, ("relu", "gelu", "tanh")),
    "learning_rate": HpAxis("float", True),
    "batchnorm": HpAxis("boolean", False, (False, True)),
}


def outcome(n: int = 8) -> SearchOutcome:
    """`n` trials whose score is driven by the learning rate alone (ids 00..), the fifth failed,
    each completed one with an 4-epoch curve."""
    rng = random.Random(3)
    trials = []
    for i in range(n):
        lr = 10 ** rng.uniform(-4, -2)
        hps: dict[str, Scalar] = {
            "units": rng.choice([32, 64, 96, 128]),
            "kernel": rng.choice([3, 7]),  # 5 never tried: still on the axis
            "activation": rng.choice(["relu", "gelu", "tanh"]),
            "learning_rate": lr,
            "batchnorm": rng.choice([True, False]),
        }
        score = 0.5 + 0.1 * (math.log10(lr) + 4)
        if i == 4:
            trials.append(TrialRecord(f"{i:02d}", "failed", hps, failure_class="oom"))
            continue
        curve = tuple((e, score - 0.1 / e) for e in range(1, 5))
        trials.append(TrialRecord(f"{i:02d}", "completed", hps, score=score, epochs=4, curve=curve))
    return SearchOutcome(
        "t", "val_accuracy", "max", "completed", trials, 1.0,
        hyperparameter_names=list(AXES), hyperparameter_axes=dict(AXES),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    """Matplotlib imported here, not at collection (a second or two for every test run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def panel(fig: Figure, title: str) -> Axes:
    return next(ax for ax in fig.axes if ax.get_title() == title)


def labels(ticks: Sequence[Any]) -> list[str]:
    return [t.get_text() for t in ticks]


def test_objective_plot_numbers_trials_by_their_ids() -> None:
    fig = plots._objective_figure(outcome())
    ax = fig.axes[0]
    assert labels(ax.get_xticklabels()) == [f"{i:02d}" for i in range(8)]  # not 1..8
    best = outcome().best()
    assert best is not None
    assert f"best (trial {best.trial_id})" in labels(ax.get_legend().get_texts())


def test_hparams_axes_are_the_hyperparameters_own() -> None:
    o = outcome()
    fig = plots._hparams_figure(o, o.hyperparameter_names)
    assert panel(fig, "learning_rate").get_xscale() == "log"  # sampling: log, whatever the spread
    assert panel(fig, "units").get_xscale() == "linear"
    assert labels(panel(fig, "units").get_xticklabels()) == ["32", "64", "96", "128"]  # no 37.5
    assert labels(panel(fig, "kernel").get_xticklabels()) == ["3", "5", "7"]  # choices, declared order
    assert labels(panel(fig, "activation").get_xticklabels()) == ["relu", "gelu", "tanh"]
    assert labels(panel(fig, "batchnorm").get_xticklabels()) == ["false", "true"]
    # the log axis is labelled at a few values, not matplotlib's overlapping minor labels
    lr = panel(fig, "learning_rate")
    fig.canvas.draw()
    assert all(t.get_text() == "" for t in lr.xaxis.get_minorticklabels())
    assert 2 <= len([t for t in lr.get_xticklabels() if t.get_text()]) <= 4


def test_an_int_range_without_listed_values_gets_whole_number_ticks() -> None:
    o = outcome()
    o.hyperparameter_axes["units"] = HpAxis("int")
    fig = plots._hparams_figure(o, ["units"])
    fig.canvas.draw()
    ticks = panel(fig, "units").get_xticks()
    assert all(float(t).is_integer() for t in ticks)


def test_learning_curves_of_the_top_trials() -> None:
    o = outcome(12)
    o.trials[1] = TrialRecord("01", "pruned", {}, score=0.4, curve=((1, 0.3), (2, 0.4)), epochs=2)
    fig = plots._curves_figure(o)
    ax = fig.axes[0]
    top = [t.trial_id for t in plots.ranked(o)[: plots.CURVES_TOP]]
    drawn = [line.get_gid() for line in ax.get_lines()]
    assert sorted(g for g in drawn if not g.startswith("pruned")) == sorted(top)
    assert "pruned 01" in drawn
    best = o.best()
    assert best is not None
    bold = next(line for line in ax.get_lines() if line.get_gid() == best.trial_id)
    assert list(bold.get_xdata()) == [1, 2, 3, 4]
    assert bold.get_linewidth() > max(
        line.get_linewidth() for line in ax.get_lines() if line.get_gid() != best.trial_id
    )
    assert ax.get_xlabel() == "epoch"


def test_parallel_coordinates_one_line_per_completed_trial() -> None:
    o = outcome()
    fig = plots._parallel_figure(o, o.hyperparameter_names)
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if line.get_gid()]
    assert sorted(line.get_gid() for line in lines) == [t.trial_id for t in o.trials if t.scored]
    assert all(len(line.get_xdata()) == len(AXES) + 1 for line in lines)  # + the objective's axis
    assert labels(ax.get_xticklabels()) == [*AXES, "val_accuracy"]
    texts = {t.get_text() for t in ax.texts}
    assert {"relu", "gelu", "tanh", "3", "5", "7", "false", "true", "32", "128"} <= texts
    assert len(fig.axes) == 2  # the colour bar: the score


def test_parallel_coordinates_mark_an_inactive_value() -> None:
    o = outcome()
    o.trials[0] = TrialRecord("00", "completed", {"units": 32}, score=0.9)
    fig = plots._parallel_figure(o, ["units", "kernel"])
    assert "(inactive)" in {t.get_text() for t in fig.axes[0].texts}


def test_importance_ranks_the_hyperparameter_that_drives_the_score() -> None:
    o = outcome(12)
    found = plots.importances(o, o.hyperparameter_names)
    assert found[0][0] == "learning_rate" and found[0][1] > 0.5
    fig = plots._importance_figure(o, o.hyperparameter_names)
    ax = fig.axes[0]
    assert labels(ax.get_yticklabels())[-1] == "learning_rate"  # the top bar
    assert len(ax.patches) == len(AXES)


def test_report_shows_every_plot_and_says_why_importance_is_missing(tmp_path: Path) -> None:
    written = {p.name for p in write_results(outcome(8), tmp_path / "many")}
    assert set(plots.PLOTS) - {plots.PARETO_PNG} <= written
    report = (tmp_path / "many" / "report.md").read_text()
    shown = [p for p in plots.PLOTS if f"]({p})" in report]
    assert shown == [p for p in plots.PLOTS if p != plots.PARETO_PNG]  # in PLOTS' order
    few = outcome(5)  # 4 completed, 1 failed
    written = {p.name for p in write_results(few, tmp_path / "few")}
    assert plots.IMPORTANCE_PNG not in written and plots.PARALLEL_PNG in written
    report = (tmp_path / "few" / "report.md").read_text()
    said = "No hyperparameter importance: it needs at least 5 completed trials, and this search has 4."
    assert said in report


def test_sweep_bars_are_labelled_by_their_overrides() -> None:
    def row(job: str, *overrides: str, score: float | None = 0.9) -> JobRow:
        joined = " ".join(overrides)
        return JobRow(job, joined, "completed", score, "val_accuracy (max)", 1, 0, 1.0, overrides)

    rows = [
        row("0", "+experiment=digits_mlp", "tuner=random", "experiment.seed=0"),
        row("1", "+experiment=digits_mlp", "tuner=random", "experiment.seed=1"),
        row("2", "+experiment=digits_mlp", "tuner=tpe", "experiment.seed=0", score=None),
    ]
    fig = sweep_figure(rows)
    ax = fig.axes[0]
    assert labels(ax.get_xticklabels()) == [
        "#0\ntuner=random\nexperiment.seed=0",
        "#1\ntuner=random\nexperiment.seed=1",
        "#2\ntuner=tpe\nexperiment.seed=0",
    ]
    assert "every job: +experiment=digits_mlp" in ax.get_title()
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.texts] == ["0.9", "0.9", "completed"]  # each bar's score, or why none
