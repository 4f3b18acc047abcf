"""One contender of the time-to-target benchmark (issue 14), in its own process:
`python -m tests.bench.time_to_target SPACE CONTENDER SEED OUT.json`.

Two spaces: step 2's digits CNN (`cnn`) and step 3's seeds' space (`seeds`: kernel_2 does not fit
after pooling for half the kernel pairs, `units_2 <= units_1` intended, SGD learning rate up to
1.0). Every contender gets the same rows (ktrun's prepared digits split, fixed), the same seed, the
same epochs per trial and the same wall-time cap, and reports when each trial ended and the best
validation accuracy it reached. The clock starts after imports and data loading.

- `ktrun_median`, `ktrun_halving`: `tuner=tpe` with `tuner.pruner` median or successive_halving
  (their defaults), `tuner.target_score` and `tuner.time_limit` as the stop;
- `kt_random`, `kt_hyperband`: plain Keras Tuner RandomSearch and Hyperband (`max_epochs` the same
  epochs, factor 3) on the plain scripts' build functions;
- `optuna`: Optuna used directly, `TPESampler(seed)` and `MedianPruner()` with their defaults,
  the same build function answered by `trial.suggest_*`, each epoch's score reported.

On the seeds' space the plain scripts say `units_2 <= units_1` the one way they can, by raising in
their build function before anything trains, and tolerate any number of failed builds (Keras
Tuner's default gives up after 3 in a row: step 3); Optuna's script turns a build failure into a
pruned trial, so TPE learns from it, and a NaN loss into a failed one. ktrun's failure limits are
raised alike.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench import budget, overhead

EPOCHS = 3
#: No trial starts after this many seconds of search: a contender still short of the target then
#: counts as "not reached".
CAP = 90.0
TARGETS = {"cnn": 0.88, "seeds": 0.75}
SPACES: dict[str, tuple[str, str, int]] = {  # experiment YAML, its name, batch size
    "cnn": (overhead.EXPERIMENT, "bench_cnn", overhead.BATCH),
    "seeds": (budget.EXPERIMENT, "bench_seeds", budget.BATCH),
}
CONTENDERS = ("ktrun_median", "ktrun_halving", "kt_random", "kt_hyperband", "optuna")
#: Enough that the cap, not the count, ends a search that never reaches the target.
MAX_TRIALS = 1000


class Reached(Exception):
    """Raised from a plain Keras Tuner's trial end to stop its search."""


class Clock:
    """Each trial's end (seconds since the search started) and best score; when to stop."""

    def __init__(self, target: float) -> None:
        self.target = target
        self.start = time.perf_counter()
        self.ends: list[tuple[float, float | None]] = []
        self.reached: float | None = None

    def end(self, score: float | None) -> bool:
        """Record a trial's end; True once the search should stop (target reached or cap spent)."""
        now = time.perf_counter() - self.start
        self.ends.append((round(now, 3), None if score is None else round(score, 4)))
        if self.reached is None and score is not None and score >= self.target:
            self.reached = now
        return self.reached is not None or now >= CAP

    def result(self, **extra: Any) -> dict[str, Any]:
        scores = [s for _, s in self.ends if s is not None]
        return {
            "seconds_to_target": self.reached,
            "search_seconds": time.perf_counter() - self.start,
            "trials": len(self.ends),
            "best": max(scores) if scores else None,
            "trial_ends": self.ends,
            **extra,
        }


def prepared(space: str, seed: int, work: Path, *overrides: str) -> tuple[Any, Any]:
    """ktrun's plan for the space and the rows every contender trains on (split with a fixed seed)."""
    from ktrun.compiler.plan import compile_plan
    from ktrun.data.load import load_dataset
    from ktrun.pipeline import check_one

    yaml, name, _ = SPACES[space]
    (work / "experiment").mkdir(parents=True, exist_ok=True)
    (work / "experiment" / f"{name}.yaml").write_text(yaml)
    report = check_one(
        [
            f"+experiment={name}",
            f"experiment.seed={seed}",
            f"fit.epochs={EPOCHS}",
            f"tuner.state_dir={work / 'state'}",
            *overrides,
        ],
        extra=[work],
    )
    assert report.checked is not None, [p.message for p in report.problems]
    plan = compile_plan(report.checked)
    data = load_dataset(plan.spec.data, report.checked.input_shape, 10, overhead.SEED)
    return plan, data


def kt_best(trial: Any) -> float | None:
    """A Keras Tuner trial's best val_accuracy over its epochs; None if it failed or its loss
    went non-finite (plain Keras Tuner scores such a trial at chance, as if valid)."""
    if trial.status == "FAILED" or not trial.metrics.exists("val_accuracy"):
        return None
    losses = [o.value[0] for o in trial.metrics.get_history("loss")] if trial.metrics.exists("loss") else []
    if not all(math.isfinite(v) for v in losses):
        return None
    values = [o.value[0] for o in trial.metrics.get_history("val_accuracy")]
    finite = [float(v) for v in values if math.isfinite(v)]
    return max(finite) if finite else None


def run_ktrun(space: str, seed: int, work: Path, pruner: str) -> dict[str, Any]:
    plan, data = prepared(
        space,
        seed,
        work,
        "tuner=tpe",
        f"tuner.pruner={{type: {pruner}}}",
        f"tuner.max_trials={MAX_TRIALS}",
        f"tuner.target_score={TARGETS[space]}",
        f"tuner.time_limit={CAP}",
        "failure_policy.max_consecutive_failures=1000",
        "failure_policy.max_failed_fraction=1.0",
    )
    run_search = overhead.runtime_imported()
    clock = Clock(TARGETS[space])
    outcome = run_search(
        plan,
        data,
        work / "run",
        progress=lambda e, t, c: e == "trial_end" and clock.end(kt_best(t)),
        say=lambda *a, **k: None,
    )
    statuses = [t.status for t in outcome.trials]
    return clock.result(
        pruned=statuses.count("pruned"),
        failed=statuses.count("failed"),
        rejected=sum(outcome.rejected.values()),
        stop_reason=outcome.stop_reason,
    )


def _builder(space: str) -> Callable[[Any], Any]:
    if space == "cnn":
        return overhead.build_cnn
    return lambda hp: budget.build_seeds(hp, constrained=True)


def run_keras_tuner(space: str, seed: int, work: Path, algorithm: str) -> dict[str, Any]:
    import keras
    import keras_tuner as kt

    _, data = prepared(space, seed, work)
    keras.utils.set_random_seed(seed)
    clock = Clock(TARGETS[space])

    def on_end(trial: Any) -> None:
        if clock.end(kt_best(trial)):
            raise Reached

    tolerant = {"max_consecutive_failed_trials": 10**6, "seed": seed}
    if algorithm == "hyperband":
        tuner = overhead.plain_tuner(
            kt.Hyperband,
            _builder(space),
            work,
            on_end,
            max_epochs=EPOCHS,
            factor=3,
            hyperband_iterations=100,
            **tolerant,
        )
    else:
        tuner = overhead.plain_tuner(
            kt.RandomSearch, _builder(space), work, on_end, max_trials=MAX_TRIALS, **tolerant
        )
    clock.start = time.perf_counter()
    with contextlib.suppress(Reached):
        tuner.search(
            data.x_train,
            data.y_train,
            epochs=EPOCHS,
            batch_size=SPACES[space][2],
            validation_data=(data.x_val, data.y_val),
            verbose=0,
        )
    failed = sum(t.status == "FAILED" for t in tuner.oracle.trials.values())
    return clock.result(pruned=0, failed=failed, rejected=0)


class OptunaHp:
    """Keras Tuner's `hp` calls answered by an Optuna trial's `suggest_*`, one for one, so the
    Optuna script builds from the same function over the same space."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def Choice(self, name: str, values: list[Any]) -> Any:
        return self.trial.suggest_categorical(name, values)

    def Int(self, name: str, low: int, high: int, step: int = 1) -> int:
        return int(self.trial.suggest_int(name, low, high, step=step))

    def Float(self, name: str, low: float, high: float, sampling: str = "linear") -> float:
        return float(self.trial.suggest_float(name, low, high, log=sampling == "log"))

    def get(self, name: str) -> Any:
        return self.trial.params[name]


def run_optuna(space: str, seed: int, work: Path) -> dict[str, Any]:
    import keras
    import optuna

    _, data = prepared(space, seed, work)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    keras.utils.set_random_seed(seed)
    build, batch = _builder(space), SPACES[space][2]

    class Report(keras.callbacks.Callback):  # type: ignore[misc]
        """What optuna-integration's TFKerasPruningCallback does: report, and stop when told."""

        def __init__(self, trial: Any) -> None:
            super().__init__()
            self.trial = trial
            self.pruned = False

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.trial.report(float((logs or {})["val_accuracy"]), epoch)
            if self.trial.should_prune():
                self.pruned = self.model.stop_training = True

    def objective(trial: Any) -> float:
        keras.backend.clear_session()
        try:
            model = build(OptunaHp(trial))
        except ValueError as error:  # a kernel too large after pooling, units_2 > units_1
            raise optuna.TrialPruned(str(error)) from error
        report = Report(trial)
        history = model.fit(
            data.x_train,
            data.y_train,
            epochs=EPOCHS,
            batch_size=batch,
            validation_data=(data.x_val, data.y_val),
            callbacks=[report, keras.callbacks.TerminateOnNaN()],
            verbose=0,
        )
        if not all(math.isfinite(v) for v in history.history["loss"]):
            return float("nan")  # Optuna records the trial as failed
        if report.pruned:
            raise optuna.TrialPruned()
        return float(max(history.history["val_accuracy"]))

    clock = Clock(TARGETS[space])

    def on_end(study: Any, trial: Any) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            score = trial.value
        elif trial.state == optuna.trial.TrialState.PRUNED and trial.intermediate_values:
            score = max(trial.intermediate_values.values())
        else:
            score = None
        if clock.end(score):
            study.stop()

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(),
    )
    clock.start = time.perf_counter()
    study.optimize(objective, timeout=CAP, callbacks=[on_end])
    states = [t.state.name for t in study.trials]
    return clock.result(pruned=states.count("PRUNED"), failed=states.count("FAIL"), rejected=0)


def run(space: str, contender: str, seed: int, work: Path) -> dict[str, Any]:
    if contender.startswith("ktrun_"):
        pruner = {"ktrun_median": "median", "ktrun_halving": "successive_halving"}[contender]
        return run_ktrun(space, seed, work, pruner)
    if contender.startswith("kt_"):
        return run_keras_tuner(space, seed, work, contender.removeprefix("kt_"))
    assert contender == "optuna", contender
    return run_optuna(space, seed, work)


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    space, contender, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    with tempfile.TemporaryDirectory() as tmp:
        result = run(space, contender, seed, Path(tmp))
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
