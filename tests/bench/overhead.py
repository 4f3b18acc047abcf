"""One contender of the overhead benchmark, run in its own process: `python -m tests.bench.overhead
ktrun|keras_tuner|loop TRIALS OUT.json`.

All three train the same space (a digits CNN: conv filters one of three, dense units 16..128 step
16, learning rate one of three), on the same 600 rows, for the same number of trials and epochs,
and report the search's wall time (imports and data loading excluded) and the resident and peak
resident memory after each trial.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

EPOCHS = 1
BATCH = 64
ROWS = 600
SEED = 7
FILTERS = [8, 16, 32]
UNITS = list(range(16, 129, 16))
RATES = [0.001, 0.003, 0.01]

EXPERIMENT = f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: bench_cnn, seed: {SEED}}}
data: {{limit: {ROWS}}}
hyperparameters:
  filters: {{type: choice, values: {FILTERS}}}
  units: {{type: int, min: 16, max: 128, step: 16}}
  learning_rate: {{type: choice, values: {RATES}}}
model:
  layers:
    - {{type: Conv2D, filters: $filters, kernel_size: 3, activation: relu}}
    - {{type: MaxPooling2D, pool_size: 2}}
    - {{type: Flatten}}
    - {{type: Dense, units: $units, activation: relu}}
    - {{type: Dense, units: 10, activation: softmax}}
  compile:
    optimizer: {{name: adam, learning_rate: $learning_rate}}
fit: {{epochs: {EPOCHS}, batch_size: {BATCH}}}
"""


class Marks:
    """Resident memory, its peak so far and a timestamp at the end of every trial."""

    def __init__(self) -> None:
        self.rss: list[float] = []
        self.peak: list[float] = []
        self.times: list[float] = []

    def __call__(self, *_: object) -> None:
        rss, peak = memory_mb()
        self.rss.append(rss)
        self.peak.append(peak)
        self.times.append(time.perf_counter())

    def result(self, seconds: float) -> dict[str, Any]:
        steps = [b - a for a, b in zip(self.times, self.times[1:], strict=False)]
        return {"seconds": seconds, "rss_mb": self.rss, "peak_rss_mb": self.peak, "trial_seconds": steps}


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB, from /proc (Linux)."""
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def digits() -> tuple[Any, Any, Any, Any]:
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(SEED)
    idx = rng.permutation(len(d.images))[:ROWS]
    x = (d.images[idx] / 16.0).astype("float32")[..., None]
    y = d.target[idx].astype("int64")
    cut = int(ROWS * 0.8)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def run_ktrun(trials: int, work: Path) -> dict[str, Any]:
    from ktrun.compiler.plan import compile_plan
    from ktrun.data.load import load_dataset
    from ktrun.pipeline import check_one

    (work / "experiment").mkdir(parents=True, exist_ok=True)
    (work / "experiment" / "bench_cnn.yaml").write_text(EXPERIMENT)
    report = check_one(
        [
            "+experiment=bench_cnn",
            f"tuner.max_trials={trials}",
            f"tuner.state_dir={work / 'state'}",
            "tuner.overwrite=true",
        ],
        extra=[work],
    )
    assert report.checked is not None, [p.message for p in report.problems]
    plan = compile_plan(report.checked)
    data = load_dataset(plan.spec.data, report.checked.input_shape, 10, SEED)
    run_search = runtime_imported()

    marks = Marks()
    start = time.perf_counter()
    outcome = run_search(
        plan,
        data,
        work / "run",
        progress=lambda e, t, c: e == "trial_end" and marks(),
        say=lambda *a, **k: None,
    )
    seconds = time.perf_counter() - start
    assert sum(t.status == "completed" for t in outcome.trials) == trials
    return marks.result(seconds)


def runtime_imported() -> Any:
    """ktrun's runtime imports Keras and Keras Tuner inside `run_search`: import them before the
    clock starts, as the other contenders' scripts do at their top."""
    import keras_tuner  # noqa: F401

    import ktrun.compiler.keras_model
    import ktrun.runtime.oracles
    import ktrun.runtime.tuner  # noqa: F401
    from ktrun.runtime.search import run_search

    return run_search


def plain_random_search(
    build: Callable[[Any], Any],
    trials: int,
    work: Path,
    on_end: Callable[[], object] | None = None,
    **kwargs: Any,
) -> Any:
    """Keras Tuner's RandomSearch as a plain script sets it up, timing each trial
    (`tuner.trial_seconds`) and calling `on_end` after each."""
    import keras_tuner as kt

    after = None if on_end is None else (lambda _: on_end())
    return plain_tuner(kt.RandomSearch, build, work, after, max_trials=trials, seed=SEED, **kwargs)


def plain_tuner(
    cls: Any, build: Callable[[Any], Any], work: Path, on_end: Callable[[Any], object] | None, **kwargs: Any
) -> Any:
    """A plain Keras Tuner `cls` on val_accuracy, timing each trial (`tuner.trial_seconds`) and
    calling `on_end(trial)` after each (it may raise to end the search)."""
    seconds: dict[str, float] = {}

    class Tuner(cls):  # type: ignore[misc,valid-type]
        def on_trial_begin(self, trial: Any) -> None:
            seconds[trial.trial_id] = time.perf_counter()
            super().on_trial_begin(trial)

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            seconds[trial.trial_id] = time.perf_counter() - seconds[trial.trial_id]
            if on_end is not None:
                on_end(trial)

    tuner = Tuner(
        build,
        objective="val_accuracy",
        overwrite=True,
        directory=str(work),
        project_name="kt",
        **kwargs,
    )
    tuner.trial_seconds = seconds
    return tuner


def build_cnn(hp: Any) -> Any:
    """The digits CNN as a plain Keras Tuner script builds it (`hp` may be any object with
    Keras Tuner's `Choice`/`Int`/`Float`, such as Optuna's trial behind `time_to_target.OptunaHp`)."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(hp.Choice("filters", FILTERS), 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", RATES)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def run_keras_tuner(trials: int, work: Path) -> dict[str, Any]:
    x, y, xv, yv = digits()
    marks = Marks()
    tuner = plain_random_search(build_cnn, trials, work, marks)
    start = time.perf_counter()
    tuner.search(x, y, epochs=EPOCHS, batch_size=BATCH, validation_data=(xv, yv), verbose=0)
    return marks.result(time.perf_counter() - start)


def run_loop(trials: int, work: Path) -> dict[str, Any]:
    """What people write by hand: sample, build, fit, evaluate, keep the best."""
    import keras

    x, y, xv, yv = digits()
    rng = random.Random(SEED)
    marks = Marks()
    best = -1.0
    start = time.perf_counter()
    for _ in range(trials):
        keras.backend.clear_session()
        filters, units, rate = rng.choice(FILTERS), rng.choice(UNITS), rng.choice(RATES)
        model = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(filters, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(units, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, validation_data=(xv, yv), verbose=0)
        best = max(best, *history.history["val_accuracy"])
        marks()
    return {**marks.result(time.perf_counter() - start), "best": best}


CONTENDERS = {"ktrun": run_ktrun, "keras_tuner": run_keras_tuner, "loop": run_loop}


def contender_main(contenders: Mapping[str, Callable[[int, Path], dict[str, Any]]]) -> None:
    """`python -m tests.bench.<module> NAME TRIALS OUT.json`: one contender, in a scratch dir."""
    import os
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    name, trials, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    with tempfile.TemporaryDirectory() as tmp:
        result = contenders[name](trials, Path(tmp))
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    contender_main(CONTENDERS)
