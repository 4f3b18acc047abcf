"""One contender of the wasted-budget benchmark, in its own process: `python -m tests.bench.budget
ktrun|keras_tuner|keras_tuner_tolerant TRIALS OUT.json`.

The space is the seeds' (000-004) in miniature, on 8x8 digits: a second convolution whose kernel
does not fit after pooling for half of the (kernel_1, kernel_2) pairs, `units_2` meant to stay
<= `units_1` (plain Keras Tuner cannot say so), and a learning-rate range whose top end makes the
linear-activation models diverge to NaN. Every contender gets the same `max_trials`; a trial
"trained a valid model" when it built, respected `units_2 <= units_1` and kept a finite loss.
Plain Keras Tuner runs as people write it (its default `max_consecutive_failed_trials=3`) and
tolerant (that limit raised to the whole budget), so the comparison is not won by the abort alone.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from tests.bench.overhead import SEED, contender_main, digits, plain_random_search, runtime_imported

EPOCHS = 1
BATCH = 32
KERNEL_1 = [3, 5, 7]
KERNEL_2 = [2, 3]
ACTIVATIONS = ["relu", "linear"]

EXPERIMENT = f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: bench_seeds, seed: {SEED}}}
data: {{limit: 600}}
hyperparameters:
  filters: {{type: int, min: 8, max: 32, step: 8}}
  kernel_1: {{type: choice, values: {KERNEL_1}}}
  kernel_2: {{type: choice, values: {KERNEL_2}}}
  activation: {{type: choice, values: {ACTIVATIONS}}}
  units_1: {{type: int, min: 16, max: 128, step: 16}}
  units_2: {{type: int, min: 16, max: 128, step: 16}}
  learning_rate: {{type: float, min: 1.0e-3, max: 1.0, sampling: log}}
constraints:
  - units_2 <= units_1
model:
  layers:
    - {{type: Conv2D, filters: $filters, kernel_size: $kernel_1, activation: $activation}}
    - {{type: MaxPooling2D, pool_size: 2}}
    - {{type: Conv2D, filters: $filters, kernel_size: $kernel_2, activation: $activation}}
    - {{type: Flatten}}
    - {{type: Dense, units: $units_1, activation: $activation}}
    - {{type: Dense, units: $units_2, activation: $activation}}
    - {{type: Dense, units: 10, activation: softmax}}
  compile:
    optimizer: {{name: sgd, learning_rate: $learning_rate, momentum: 0.95}}
fit: {{epochs: {EPOCHS}, batch_size: {BATCH}}}
failure_policy: {{max_failed_fraction: 0.5}}
"""


def _trial(
    hps: dict[str, Any], built: bool, finite: bool, score: float | None, secs: float, error: str | None
) -> dict[str, Any]:
    valid = built and finite and int(hps["units_2"]) <= int(hps["units_1"])
    return {
        "valid": valid,
        "built": built,
        "finite": finite,
        "score": score,
        "seconds": secs,
        "hyperparameters": hps,
        "error": error,
    }


def _result(trials: list[dict[str, Any]], status: str, reason: str | None, secs: float) -> dict[str, Any]:
    scores = [t["score"] for t in trials if t["valid"] and t["score"] is not None]
    return {
        "trials": trials,
        "status": status,
        "reason": reason,
        "seconds": secs,
        "best_valid_score": max(scores) if scores else None,
    }


def run_ktrun(trials: int, work: Path) -> dict[str, Any]:
    from ktrun.compiler.plan import compile_plan
    from ktrun.data.load import load_dataset
    from ktrun.pipeline import check_one

    (work / "experiment").mkdir(parents=True, exist_ok=True)
    (work / "experiment" / "bench_seeds.yaml").write_text(EXPERIMENT)
    overrides = ["+experiment=bench_seeds", f"tuner.max_trials={trials}"]
    report = check_one([*overrides, f"tuner.state_dir={work / 'state'}"], extra=[work])
    assert report.checked is not None, [p.message for p in report.problems]
    plan = compile_plan(report.checked)
    data = load_dataset(plan.spec.data, report.checked.input_shape, 10, SEED)
    run_search = runtime_imported()
    start = time.perf_counter()
    outcome = run_search(plan, data, work / "run", say=lambda *a, **k: None)
    seconds = time.perf_counter() - start
    records = [
        _trial(
            dict(t.hyperparameters),
            built=t.failure_class != "build_error",
            finite=t.failure_class != "nan",
            score=t.score if t.scored else None,
            secs=t.seconds or 0.0,
            error=t.message,
        )
        for t in outcome.trials
    ]
    out = _result(records, outcome.status, outcome.abort_reason, seconds)
    out["rejected_candidates"] = sum(outcome.rejected.values())
    return out


def build_seeds(hp: Any, *, constrained: bool = False) -> Any:
    """The seeds' model as their script builds it: hp calls inline. `constrained`: raise when
    `units_2 > units_1`, the one place a plain script can say so (before any training)."""
    import keras

    act = hp.Choice("activation", ACTIVATIONS)
    filters = hp.Int("filters", 8, 32, step=8)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(filters, hp.Choice("kernel_1", KERNEL_1), activation=act),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(filters, hp.Choice("kernel_2", KERNEL_2), activation=act),
            keras.layers.Flatten(),
            keras.layers.Dense(hp.Int("units_1", 16, 128, step=16), activation=act),
            keras.layers.Dense(hp.Int("units_2", 16, 128, step=16), activation=act),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    if constrained and hp.get("units_2") > hp.get("units_1"):
        raise ValueError("units_2 > units_1")
    rate = hp.Float("learning_rate", 1e-3, 1.0, sampling="log")
    model.compile(
        optimizer=keras.optimizers.SGD(rate, momentum=0.95),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def run_keras_tuner(trials: int, work: Path, *, tolerant: bool = False) -> dict[str, Any]:
    """The seeds' script: hp calls inline in build_model, Keras Tuner's defaults."""
    x, y, xv, yv = digits()
    tuner = plain_random_search(
        build_seeds, trials, work, max_consecutive_failed_trials=trials if tolerant else 3
    )
    status, reason = "completed", None
    start = time.perf_counter()
    try:
        tuner.search(x, y, epochs=EPOCHS, batch_size=BATCH, validation_data=(xv, yv), verbose=0)
    except RuntimeError as exc:  # "Number of consecutive failures exceeded the limit of 3."
        status, reason = "aborted", str(exc).splitlines()[0]
    total = time.perf_counter() - start
    records = []
    for tid, trial in sorted(tuner.oracle.trials.items()):
        losses = (
            [o.value[0] for o in trial.metrics.get_history("loss")] if trial.metrics.exists("loss") else []
        )
        built = trial.status == "COMPLETED"
        records.append(
            _trial(
                dict(trial.hyperparameters.values),
                built=built,
                finite=built and all(math.isfinite(v) for v in losses),
                score=trial.score if built else None,
                secs=tuner.trial_seconds.get(tid, 0.0),
                error=(trial.message or "").strip().splitlines()[-1] if trial.message else None,
            )
        )
    return _result(records, status, reason, total)


CONTENDERS = {
    "ktrun": run_ktrun,
    "keras_tuner": run_keras_tuner,
    "keras_tuner_tolerant": lambda n, w: run_keras_tuner(n, w, tolerant=True),
}

if __name__ == "__main__":
    contender_main(CONTENDERS)
