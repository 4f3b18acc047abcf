"""Fault injection: builds that fail and losses that go NaN at random, under real Keras.

Each point of the space has a fate drawn from a `random.Random` seeded with the point and the
test's seed, so which trials fail (and how) is decided by the point alone, whatever order the
tuner proposes them in. The policies must then do exactly what the README promises: `skip`
finishes the search with every failure counted by class, `abort` stops at the first failure of
that class with the reason, and "best" is always a completed trial with a finite score.
"""

from __future__ import annotations

import csv
import math
import random
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.integration.test_search import search, write_experiment

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.usefixtures("no_plots")]

Fate = Literal["ok", "build", "nan_weights", "nan_lr"]
#: The failure class ktrun must report for each injected fault.
REASON: dict[Fate, str] = {"build": "build_error", "nan_weights": "nan", "nan_lr": "nan"}
#: Probability of each fault per point (0.36 in all).
P_FAULT: dict[Fate, float] = {"build": 0.12, "nan_weights": 0.12, "nan_lr": 0.12}

# 8 x 3 x 2 = 48 points. Activations unbounded above only: with tanh or sigmoid an absurd learning
# rate leaves the loss huge but finite, so a `nan_lr` fault would not be a NaN.
SPACE = """
hyperparameters:
  units: {type: choice, values: [8, 12, 16, 24, 32, 48, 64, 96]}
  act: {type: choice, values: [relu, gelu, elu]}
  init: {type: choice, values: [glorot_uniform, he_normal]}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: $units, activation: $act, kernel_initializer: $init}
    - {type: Dense, units: 10, activation: softmax}
  compile:
    optimizer: {name: adam, learning_rate: 0.01}
    loss: sparse_categorical_crossentropy
    metrics: [accuracy]
"""
MAX_TRIALS = 8
BATCHES_PER_EPOCH = 4  # data.limit=300, 20% validation, batch 64: 240 rows in 4 batches
FIT = ["fit.epochs=2", "tuner.max_trials=" + str(MAX_TRIALS)]
NO_LIMITS = [
    "failure_policy.max_failed_fraction=1.0",
    f"failure_policy.max_consecutive_failures={MAX_TRIALS + 1}",
]


def point_key(point: Mapping[str, Any]) -> str:
    """One spelling for a point, whether it comes from Keras Tuner or from trials.csv."""
    return "|".join(f"{k}={v}" for k, v in sorted(point.items()))


def fate_of(point: Mapping[str, Any], seed: int) -> tuple[Fate, int]:
    """The point's fate, and for `nan_lr` the optimizer step after which the rate explodes."""
    rng = random.Random(f"{seed}/{point_key(point)}")
    draw, step = rng.random(), rng.randrange(0, 7)
    edge = 0.0
    for fate, p in P_FAULT.items():
        edge += p
        if draw < edge:
            return fate, step
    return "ok", step


@dataclass
class Injector:
    """Wraps the real `build_model`; records every fault it injected, in build order."""

    seed: int = 0
    injected: list[tuple[str, Fate]] = field(default_factory=list)

    def wrap(self, real: Any) -> Any:
        def build(plan: Any, point: Any) -> Any:
            import keras
            import numpy as np

            fate, step = fate_of(point, self.seed)
            if fate != "ok":
                self.injected.append((point_key(point), fate))
            if fate == "build":
                raise ValueError(f"injected build fault for {point_key(point)}")
            model = real(plan, point)
            if fate == "nan_weights":  # a corrupted checkpoint: NaN from the first batch
                dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
                dense.kernel.assign(np.full(dense.kernel.shape, np.nan, dtype="float32"))
            elif fate == "nan_lr":  # a schedule with a typo: trains normally, then diverges
                base = float(model.optimizer.learning_rate.numpy())
                model.optimizer.learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(
                    boundaries=[step], values=[base, 1e30]
                )
            return model

        return build


@pytest.fixture
def injector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Injector]:
    """Real Keras behind a wrapper on `ktrun.compiler.keras_model.build_model` (what the tuner calls)."""
    import ktrun.compiler.keras_model as kb

    inj = Injector()
    monkeypatch.setattr(kb, "build_model", inj.wrap(kb.build_model))
    yield inj


def read_trials(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "trials.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def nonzero(counts: Mapping[str, int]) -> dict[str, int]:
    """failed_by_reason lists every class, zeros included."""
    return {k: v for k, v in counts.items() if v}


def hparams(row: Mapping[str, str]) -> dict[str, str]:
    return {k: row[k] for k in ("units", "act", "init")}


def nan_batch(message: str) -> float:
    """The 1-based global batch at which ktrun says the trial went non-finite."""
    if found := re.search(r"at epoch (\d+), batch (\d+)", message):
        return (int(found[1]) - 1) * BATCHES_PER_EPOCH + int(found[2])
    found = re.search(r"at the end of epoch (\d+)", message)
    assert found, message
    return int(found[1]) * BATCHES_PER_EPOCH + 0.5  # validation, after the epoch's last batch


def check_nan_moments(rows: list[dict[str, str]], seed: int) -> None:
    """NaN weights fail at the first batch; an exploding rate no earlier than it can (the batch
    after the first update at 1e30, i.e. step + 3), often in epoch 2 after a finite epoch 1."""
    for row in rows:
        fate, step = fate_of(hparams(row), seed)
        if fate == "nan_weights":
            assert nan_batch(row["message"]) == 1, row
        elif fate == "nan_lr":
            assert nan_batch(row["message"]) >= step + 3, row


def expected_status(fate: Fate) -> tuple[str, str]:
    """(status, failure_class) a trial of this fate must end with."""
    return ("completed", "") if fate == "ok" else ("failed", REASON[fate])


def check_best(summary: Mapping[str, Any], run_dir: Path, seed: int) -> None:
    """Best is the top completed, finite trial, never a faulted point; None when none completed."""
    rows = read_trials(run_dir)
    completed = [r for r in rows if r["status"] == "completed"]
    assert (run_dir / "best_model.keras").is_file() == bool(completed)
    if not completed:
        assert summary["best"] is None
        return
    best = summary["best"]
    assert best is not None
    assert math.isfinite(best["score"])
    assert fate_of(best["hyperparameters"], seed)[0] == "ok", best
    assert best["score"] == max(float(r["score"]) for r in completed)
    best_row = next(r for r in rows if r["trial_id"] == best["trial_id"])
    assert best_row["status"] == "completed"
    assert hparams(best_row) == {k: str(v) for k, v in best["hyperparameters"].items()}


@pytest.mark.parametrize("seed", [1, 3])  # each mixes build faults with both NaN kinds
def test_skip_completes_counts_every_fault_and_picks_a_clean_best(
    tmp_path: Path, injector: Injector, seed: int
) -> None:
    """Under `skip` the full budget runs; each trial ends exactly as its point's fate says."""
    injector.seed = seed
    write_experiment(tmp_path, "faulty", SPACE)
    rc, summary, run_dir = search(
        tmp_path,
        "+experiment=faulty",
        f"experiment.seed={seed}",
        *FIT,
        "failure_policy.build_error=skip",
        "failure_policy.nan=skip",
        *NO_LIMITS,
        extra=[tmp_path],
    )
    rows = read_trials(run_dir)
    fates = [fate_of(hparams(r), seed)[0] for r in rows]
    assert rc == 0, summary
    assert summary["status"] == "completed" and summary["abort_reason"] is None
    assert len(rows) == MAX_TRIALS
    assert summary["trials"]["completed"] + summary["trials"]["failed"] == MAX_TRIALS
    assert [(r["status"], r["failure_class"]) for r in rows] == [expected_status(f) for f in fates], fates
    assert {"build", "nan_weights", "nan_lr"} & set(fates), f"seed {seed} injected no fault"
    injected = Counter(REASON[fate] for _, fate in injector.injected)
    assert nonzero(summary["trials"]["failed_by_reason"]) == dict(injected)
    assert dict(injected) == dict(Counter(REASON[f] for f in fates if f != "ok"))
    check_nan_moments(rows, seed)
    check_best(summary, run_dir, seed)
    report = (run_dir / "report.md").read_text()
    if "build" in fates:
        assert "injected build fault" in report
    if {"nan_weights", "nan_lr"} & set(fates):
        assert "non-finite" in report


@pytest.mark.parametrize(
    ("kind", "seed", "completed_before"),
    [
        ("nan", 1, True),  # aborts at the 3rd trial, after two completed ones
        ("nan", 3, False),  # aborts at the very first trial: nothing to call best
        ("build_error", 1, True),  # aborts at the 7th trial, after two NaN skips
    ],
)
def test_abort_stops_at_the_first_fault_of_its_class(
    tmp_path: Path, injector: Injector, kind: str, seed: int, completed_before: bool
) -> None:
    """Under `<kind>: abort` the search stops at the first such trial and says why; the trials
    before it ended per their own policy, and best is one of them (completed, finite) or None."""
    injector.seed = seed
    other = "build_error" if kind == "nan" else "nan"
    write_experiment(tmp_path, "faulty", SPACE)
    rc, summary, run_dir = search(
        tmp_path,
        "+experiment=faulty",
        f"experiment.seed={seed}",
        *FIT,
        f"failure_policy.{kind}=abort",
        f"failure_policy.{other}=skip",
        *NO_LIMITS,
        extra=[tmp_path],
    )
    rows = read_trials(run_dir)
    fates = [fate_of(hparams(r), seed)[0] for r in rows]
    reasons = ["" if f == "ok" else REASON[f] for f in fates]
    assert rc == 1, summary
    assert summary["status"] == "aborted"
    assert reasons[-1] == kind and kind not in reasons[:-1], fates  # the first one stops it
    assert len(rows) < MAX_TRIALS, "the fault must come before the budget ends"
    assert summary["trials"]["completed"] + summary["trials"]["failed"] == len(rows)
    assert [(r["status"], r["failure_class"]) for r in rows] == [expected_status(f) for f in fates]
    last = rows[-1]["trial_id"]
    assert f"trial {last} failed with {kind} and failure_policy.{kind} is abort" in summary["abort_reason"]
    injected = Counter(REASON[fate] for _, fate in injector.injected)
    assert nonzero(summary["trials"]["failed_by_reason"]) == dict(injected)
    assert dict(injected) == dict(Counter(r for r in reasons if r))
    has_completed = "completed" in [r["status"] for r in rows]
    assert has_completed == completed_before, f"seed {seed} no longer covers this case: {fates}"
    check_nan_moments(rows, seed)
    check_best(summary, run_dir, seed)
