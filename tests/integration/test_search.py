"""Real searches on tiny data: every tuner, feasible-only sampling, failure policies, outputs.

These train real Keras models (a few seconds each) through the same entry point as `ktrun`.
"""

from __future__ import annotations

import csv
import json
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ktrun.cli import main
from ktrun.pipeline import run_experiment
from tests.conftest import CONF

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

QUICK = ["data.limit=300", "fit.epochs=1", "fit.batch_size=64"]


def search(
    tmp_path: Path, *overrides: str, extra: list[Path] | None = None, run: str = "run"
) -> tuple[int, dict[str, Any], Path]:
    run_dir = tmp_path / run
    rc = run_experiment(
        [*QUICK, f"tuner.state_dir={tmp_path / 'state'}", *overrides], CONF, extra or [], run_dir
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    return rc, summary, run_dir


def write_experiment(conf: Path, name: str, body: str) -> None:
    (conf / "experiment").mkdir(exist_ok=True)
    (conf / "experiment" / f"{name}.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: digits\n  - override /model: none\n"
        f"experiment: {{name: {name}}}\n" + body
    )


SMALL_CNN = """
hyperparameters:
  kernel_1: {type: choice, values: [2, 3, 5]}
  units: {type: choice, values: [8, 16, 32]}
model:
  layers:
    - {type: Conv2D, filters: 4, kernel_size: $kernel_1, activation: relu}
    - {type: MaxPooling2D, pool_size: 2}
    - {type: Conv2D, filters: 4, kernel_size: 3, activation: relu}
    - {type: Flatten}
    - {type: Dense, units: $units, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
"""


@dataclass(frozen=True)
class Finished:
    rc: int
    summary: dict[str, Any]
    run_dir: Path
    state: Path  # its tuner.state_dir


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """One default search of 2 trials, run once per module: the results the default search
    writes, and the finished state the resume, overwrite and changed-space tests each continue
    on a copy of their own (`continue_from`)."""
    tmp = tmp_path_factory.mktemp("finished")
    rc, summary, run_dir = search(tmp, "tuner.max_trials=2")
    return Finished(rc, summary, run_dir, tmp / "state")


def continue_from(finished: Finished, tmp_path: Path) -> None:
    """A copy of the finished search's state where `search(tmp_path, ...)` looks for it."""
    shutil.copytree(finished.state, tmp_path / "state")
    for lock in (tmp_path / "state").glob("*/ktrun.lock"):
        lock.unlink()


def test_default_search_writes_every_result(finished: Finished) -> None:
    rc, summary, run_dir = finished.rc, finished.summary, finished.run_dir
    assert rc == 0
    assert set(summary) >= {"experiment", "objective", "status", "abort_reason", "best", "trials", "seconds"}
    assert summary["status"] == "completed" and summary["abort_reason"] is None
    assert summary["objective"] == {"name": "val_accuracy", "direction": "max"}
    assert summary["trials"]["completed"] == 2 and summary["trials"]["failed"] == 0
    assert 0.0 < summary["best"]["score"] <= 1.0
    for name in (
        "trials.csv",
        "report.md",
        "best_hparams.yaml",
        "best_model.keras",
        "objective.png",
        "hparams.png",
        "learning_curves.png",
        "parallel_coordinates.png",
    ):
        assert (run_dir / name).is_file(), name
    pinned = yaml.safe_load((run_dir / "best_hparams.yaml").read_text())["pin"]
    assert pinned == summary["best"]["hyperparameters"]
    # two trials: too few for an importance, and the report says so
    assert not (run_dir / "importance.png").exists()
    assert "No hyperparameter importance: it needs at least 5" in (run_dir / "report.md").read_text()
    # each trial's objective per epoch, kept for the learning curves
    (journal,) = finished.state.glob("*/ktrun_journal.jsonl")
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [len(e["curve"]) for e in entries] == [1, 1]  # fit.epochs=1
    assert all(e["curve"][0][0] == 1 and 0.0 <= e["curve"][0][1] <= 1.0 for e in entries)


@pytest.mark.parametrize(
    ("tuner", "extra", "expected"),
    [
        ("bayesian", ["tuner.max_trials=3", "tuner.bayesian.num_initial_points=2"], 3),
        ("hyperband", ["tuner.max_trials=30", "tuner.hyperband.max_epochs=3"], None),
    ],
)
def test_tuner_algorithms(tmp_path: Path, tuner: str, extra: list[str], expected: int | None) -> None:
    rc, summary, _ = search(tmp_path, f"tuner={tuner}", *extra)
    assert rc == 0 and summary["status"] == "completed"
    assert summary["trials"]["failed"] == 0
    if expected is not None:
        assert summary["trials"]["completed"] == expected
    else:
        assert summary["trials"]["completed"] >= 3


def test_shape_infeasible_third_is_never_trained(tmp_path: Path) -> None:
    """kernel_1=5 leaves a 2x2 map for a 3x3 conv: a third of the space. The full budget of 6
    (every feasible point) completes with no failed trial; the sampler rejected the rest."""
    write_experiment(tmp_path, "third", SMALL_CNN)
    rc, summary, run_dir = search(tmp_path, "+experiment=third", "tuner.max_trials=6", extra=[tmp_path])
    assert rc == 0 and summary["status"] == "completed"
    assert summary["trials"]["completed"] == 6 and summary["trials"]["failed"] == 0
    assert summary["trials"]["rejected_candidates"] > 0
    assert set(summary["trials"]["rejected_by_reason"]) == {"kernel-too-large"}
    rows = (run_dir / "trials.csv").read_text().splitlines()
    assert all(",5," not in row.split("kernel_1")[-1] for row in rows[1:])
    assert "rejected" in (run_dir / "report.md").read_text().lower()
    # The retrain command finds the user's experiment: it keeps the config directory.
    command = (run_dir / "best_hparams.yaml").read_text().splitlines()[1].removeprefix("# Retrain it: ")
    args = shlex.split(command)
    assert args[:3] == ["ktrun", "--config-dir", str(tmp_path)], command
    assert main(["check", *args[1:]]) == 0


def test_grid_enumerates_feasible_points_then_reports_exhausted(tmp_path: Path) -> None:
    write_experiment(tmp_path, "grid", SMALL_CNN)
    rc, summary, _ = search(
        tmp_path, "+experiment=grid", "tuner=grid", "tuner.max_trials=20", extra=[tmp_path]
    )
    assert rc == 0
    assert summary["status"] == "exhausted"
    assert summary["trials"]["completed"] == 6  # 9 points, 3 infeasible
    assert summary["trials"]["rejected_by_reason"] == {"kernel-too-large": 3}


@pytest.mark.parametrize("tuner", ["random", "grid"])
def test_stepped_floats_are_written_as_typed(tmp_path: Path, tuner: str) -> None:
    """Issue 15: Keras Tuner samples a float stepped by 0.1 from 0.1 as 0.1 + 2 * 0.1, which is
    0.30000000000000004; trials.csv, summary.json, report.md and best_hparams.yaml (its pin and
    retrain command) say 0.3, and the retrain command checks clean. Random: Keras Tuner's own
    draws; grid: ktrun's points, handed to Keras Tuner and read back."""
    pins = ["+pin.units_1=32", "+pin.units_2=16", "+pin.activation=relu", "+pin.learning_rate=0.001"]
    rc, summary, run_dir = search(
        tmp_path, "+experiment=digits_mlp", f"tuner={tuner}", "tuner.max_trials=3", *pins,
        "hyperparameters.dropout.min=0.1", "hyperparameters.dropout.max=0.3",
    )  # fmt: skip
    assert rc == 0 and summary["trials"]["completed"] == 3, summary
    rows = list(csv.DictReader((run_dir / "trials.csv").read_text().splitlines()))
    assert sorted(r["dropout"] for r in rows) == ["0.1", "0.2", "0.3"]
    assert summary["best"]["hyperparameters"]["dropout"] in (0.1, 0.2, 0.3)
    for name in ("trials.csv", "summary.json", "report.md", "best_hparams.yaml"):
        assert "0000000" not in (run_dir / name).read_text(), name
    best = yaml.safe_load((run_dir / "best_hparams.yaml").read_text())["pin"]
    assert best["dropout"] == summary["best"]["hyperparameters"]["dropout"]
    command = (run_dir / "best_hparams.yaml").read_text().splitlines()[1].removeprefix("# Retrain it: ")
    assert f"+pin.dropout={best['dropout']!r}" in command, command
    assert main(["check", *shlex.split(command)[1:]]) == 0


NAN_PRONE = """
data: {normalize: none}
hyperparameters:
  act: {type: choice, values: [relu, exponential]}
  units: {type: choice, values: [16, 32]}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: $units, activation: $act, kernel_initializer: ones}
    - {type: Dense, units: 10, activation: softmax}
"""


def test_nan_trials_fail_and_are_never_best(tmp_path: Path) -> None:
    write_experiment(tmp_path, "nanprone", NAN_PRONE)
    rc, summary, run_dir = search(
        tmp_path,
        "+experiment=nanprone",
        "tuner=grid",
        "tuner.max_trials=4",
        "failure_policy.max_failed_fraction=1.0",
        "failure_policy.max_consecutive_failures=5",
        extra=[tmp_path],
    )
    assert rc == 0
    assert summary["trials"]["failed_by_reason"]["nan"] == 2
    assert summary["trials"]["completed"] == 2
    assert summary["best"]["hyperparameters"]["act"] == "relu"
    report = (run_dir / "report.md").read_text()
    assert "nan" in report and "non-finite" in report


def test_nan_abort_policy_aborts_with_the_reason(tmp_path: Path) -> None:
    write_experiment(tmp_path, "nanprone", NAN_PRONE)
    rc, summary, _ = search(
        tmp_path,
        "+experiment=nanprone",
        "tuner=grid",
        "tuner.max_trials=4",
        "+pin.act=exponential",
        "failure_policy.nan=abort",
        extra=[tmp_path],
    )
    assert rc == 1
    assert summary["status"] == "aborted"
    assert "nan" in summary["abort_reason"] and "failure_policy.nan is abort" in summary["abort_reason"]
    assert summary["best"] is None


@pytest.fixture
def failing_builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Builds with units=16 raise, as a layer would on a bad argument (our code, real Keras)."""
    import ktrun.compiler.keras_model as kb

    real = kb.build_model
    calls: list[dict[str, Any]] = []

    def build(plan: Any, point: Any) -> Any:
        calls.append(dict(point))
        if point.get("units") == 16:
            raise ValueError("injected build failure for units=16")
        return real(plan, point)

    monkeypatch.setattr(kb, "build_model", build)
    yield calls


def test_build_errors_are_skipped_and_classified(tmp_path: Path, failing_builds: list[Any]) -> None:
    write_experiment(tmp_path, "builds", NAN_PRONE.replace("exponential", "tanh"))
    rc, summary, run_dir = search(
        tmp_path,
        "+experiment=builds",
        "tuner=grid",
        "tuner.max_trials=4",
        "failure_policy.max_failed_fraction=1.0",
        extra=[tmp_path],
    )
    assert rc == 0 and summary["status"] == "completed"
    assert summary["trials"]["failed_by_reason"]["build_error"] == 2
    assert summary["trials"]["completed"] == 2
    assert "injected build failure" in (run_dir / "report.md").read_text()


def test_build_errors_are_retried_per_policy(tmp_path: Path, failing_builds: list[Any]) -> None:
    write_experiment(tmp_path, "retry", NAN_PRONE.replace("exponential", "tanh"))
    rc, summary, _ = search(
        tmp_path,
        "+experiment=retry",
        "tuner=grid",
        "tuner.max_trials=4",
        "+pin.act=tanh",
        "failure_policy.build_error=retry",
        "failure_policy.max_retries=2",
        "failure_policy.max_failed_fraction=1.0",
        extra=[tmp_path],
    )
    assert rc == 0
    assert summary["trials"]["failed_by_reason"]["build_error"] == 1
    assert sum(1 for c in failing_builds if c.get("units") == 16) == 3  # first try + 2 retries


def test_changed_space_starts_a_new_search(
    finished: Finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    continue_from(finished, tmp_path)  # 2 trials of the default space
    rc, summary, _ = search(tmp_path, "tuner.max_trials=1", "hyperparameters.units.max=64", run="second")
    out = capsys.readouterr().out
    assert rc == 0 and summary["resumed_trials"] == 0 and summary["trials"]["completed"] == 1
    assert "changed" in out and "hyperparameters.units.max: 128 → 64" in out
    rc, summary, _ = search(tmp_path, "tuner.max_trials=2", "hyperparameters.units.max=64", run="third")
    assert summary["resumed_trials"] == 1 and summary["trials"]["completed"] == 2


def test_mnist_cnn_from_a_local_file(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 240)
    images = (rng.random((240, 28, 28)) * 60).astype("uint8")
    for i, label in enumerate(labels):  # a learnable signal: a bright bar per class
        images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images, y_train=labels, x_test=images[:10], y_test=labels[:10])
    rc, summary, _ = search(
        tmp_path,
        "+experiment=mnist_cnn",
        f"data.path={path}",
        "tuner.max_trials=2",
        "+pin.filters_1=16",
        "+pin.filters_2=32",
        "+pin.units_1=64",
        "+pin.units_2=32",
    )
    assert rc == 0 and summary["trials"]["completed"] == 2


def test_overwrite_starts_over(
    finished: Finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    continue_from(finished, tmp_path)
    rc, summary, _ = search(tmp_path, "tuner.max_trials=1", "tuner.overwrite=true", run="second")
    assert rc == 0 and summary["resumed_trials"] == 0 and summary["trials"]["completed"] == 1
    assert "discarding the earlier search" in capsys.readouterr().out


def test_slow_trials_time_out_and_are_skipped(tmp_path: Path) -> None:
    rc, summary, _ = search(
        tmp_path,
        "tuner.max_trials=2",
        "fit.epochs=500",
        "failure_policy.trial_timeout=1.5",
        "failure_policy.max_failed_fraction=1.0",
    )
    assert rc == 0
    assert summary["trials"]["failed_by_reason"]["timeout"] == 2
    assert summary["best"] is None


def test_missing_objective_aborts_after_the_first_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keras Tuner would train three trials and fail with a bare KeyError; ktrun stops at one.

    The checks make this unreachable from YAML, so the fit here drops the logged metrics.
    """
    from ktrun.runtime.tuner import KtrunHyperModel

    real = KtrunHyperModel.fit

    def fit_without_metrics(self: Any, *args: Any, **kwargs: Any) -> Any:
        history = real(self, *args, **kwargs)
        for key in ("accuracy", "val_accuracy"):
            history.history.pop(key, None)
        return history

    monkeypatch.setattr(KtrunHyperModel, "fit", fit_without_metrics)
    rc, summary, _ = search(tmp_path, "tuner.max_trials=3")
    assert rc == 1 and summary["status"] == "aborted"
    assert "val_accuracy" in summary["abort_reason"] and "val_loss" in summary["abort_reason"]
    assert summary["trials"]["completed"] + summary["trials"]["failed"] == 1


def test_failures_are_classified() -> None:
    import tensorflow as tf

    from ktrun.runtime.tuner import NanTrialError, TrialTimeoutError
    from ktrun.spec.failures import classify

    oom = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
    assert classify(oom, "fit") == "oom"
    assert classify(MemoryError(), "build") == "oom"
    assert classify(NanTrialError("loss=nan"), "fit") == "nan"
    assert classify(TrialTimeoutError("slow"), "fit") == "timeout"
    assert classify(ValueError("bad arg"), "build") == "build_error"
    assert classify(ValueError("bad data"), "fit") == "other"


def test_tensorboard_logs_with_hparams(tmp_path: Path) -> None:
    rc, _, run_dir = search(tmp_path, "tuner.max_trials=1", "report.tensorboard=true")
    assert rc == 0
    trial_dir = run_dir / "tensorboard" / "0" / "execution0"
    assert list((trial_dir / "train").glob("events.out.tfevents.*"))
    assert list((trial_dir / "validation").glob("events.out.tfevents.*"))
    assert list(trial_dir.glob("events.out.tfevents.*")), "no HParams summary for the trial"


def test_rerunning_a_finished_search_trains_nothing_again(finished: Finished, tmp_path: Path) -> None:
    """Keras Tuner leaves the last trial in oracle.json's `ongoing_trials`; a re-run must not
    train it a second time (found by the crash-loop test)."""
    continue_from(finished, tmp_path)
    assert finished.rc == 0 and finished.summary["trials"]["completed"] == 2
    rc, second, _ = search(tmp_path, "tuner.max_trials=2", run="run2")
    assert rc == 0 and second["trials"]["completed"] == 2
    state = Path(second["state_dir"])
    runs = [json.loads(line)["trial_id"] for line in (state / "ktrun_journal.jsonl").read_text().splitlines()]
    assert sorted(runs) == ["0", "1"], runs  # one training run per trial, across both runs
    oracle = json.loads((state / "oracle.json").read_text())
    assert oracle["ongoing_trials"] == {} and oracle["end_order"] == ["0", "1"]


def test_class_weight_and_shuffle_are_tunable_fit_settings(tmp_path: Path) -> None:
    """Published searches tune fit arguments beyond epochs and batch size: both values of each
    train, and the trials record them."""
    write_experiment(
        tmp_path,
        "fitting",
        """
hyperparameters:
  weighting: {type: choice, values: [balanced, none]}
  shuffle: {type: boolean}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
fit: {class_weight: $weighting, shuffle: $shuffle}
tuner: {algorithm: grid}
""",
    )
    rc, summary, run_dir = search(tmp_path, "+experiment=fitting", "tuner.max_trials=4", extra=[tmp_path])
    assert rc == 0 and summary["trials"]["completed"] == 4, summary
    rows = (run_dir / "trials.csv").read_text().splitlines()
    assert sum("balanced" in r for r in rows[1:]) == 2 and sum(",none," in r for r in rows[1:]) == 2


def test_a_tuned_input_size_feeds_the_layers_after_a_resizing(tmp_path: Path) -> None:
    """`Resizing` first, to a tuned size: the shape check walks each size (4x4 leaves nothing
    for a 5x5 kernel, 12x12 fits), and the search trains the size that fits at that size."""
    from ktrun.pipeline import check_one

    write_experiment(
        tmp_path,
        "resized",
        """
hyperparameters:
  size: {type: choice, values: [4, 12]}
model:
  layers:
    - {type: Resizing, height: $size, width: $size}
    - {type: Conv2D, filters: 4, kernel_size: 5, activation: relu}
    - {type: MaxPooling2D, pool_size: 2}
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
tuner: {algorithm: grid}
""",
    )
    report = check_one(["+experiment=resized"], extra=[tmp_path])
    [problem] = [p for p in report.problems if p.code == "kernel-too-large"]
    assert "size=4" in problem.message and "Resizing (4, 4, 1)" in problem.message
    assert report.checked is not None
    trace = report.checked.checker.shape_trace({"size": 12})
    assert trace is not None and [s for _, s in trace.steps][:4] == [(12, 12, 1), (8, 8, 4), (4, 4, 4), (64,)]
    rc, summary, run_dir = search(tmp_path, "+experiment=resized", "tuner.max_trials=3", extra=[tmp_path])
    assert rc == 0 and summary["status"] == "exhausted", summary
    assert summary["trials"]["completed"] == 1 and summary["trials"]["failed"] == 0
    assert summary["trials"]["rejected_by_reason"] == {"kernel-too-large": 1}
    [row] = (run_dir / "trials.csv").read_text().splitlines()[1:]
    assert ",12," in f",{row},"


def test_a_dependent_bound_holds_in_every_trial(tmp_path: Path) -> None:
    """`max: $units_1` is registered at its widest (4..8) and enforced as `units_2 <= units_1`:
    the grid trains exactly the 3 points inside the bound; `i` gives each repetition its own."""
    write_experiment(
        tmp_path,
        "dependent",
        """
hyperparameters:
  units_1: {type: choice, values: [4, 8]}
  units_2: {type: int, min: 4, max: $units_1, step: 4}
  u: {type: int, min: "4 * i", max: "4 * i"}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: $units_1, activation: relu}
    - {type: Dense, units: $units_2, activation: relu}
    - type: repeat
      times: 2
      layers:
        - {type: Dense, units: $u, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
tuner: {algorithm: grid}
""",
    )
    rc, summary, run_dir = search(tmp_path, "+experiment=dependent", "tuner.max_trials=5", extra=[tmp_path])
    assert rc == 0 and summary["status"] == "exhausted", summary
    assert summary["trials"]["completed"] == 3 and summary["trials"]["failed"] == 0
    assert summary["trials"]["rejected_by_reason"] == {"units_2 <= units_1": 1}
    with (run_dir / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    for row in rows:
        assert int(row["units_2"]) <= int(row["units_1"]), row
        assert (row["u_1"], row["u_2"]) == ("4", "8"), row
