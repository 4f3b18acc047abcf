"""What a finished (or aborted) search leaves: plain data, written out by `ktrun.results.files`.

The runtime fills these from Keras Tuner's trials and ktrun's own trial journal; everything
downstream (summary.json, trials.csv, report.md, plots, the terminal table) reads only this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ktrun.analysis import pareto
from ktrun.analysis.pareto import Objective, Rule
from ktrun.spec.failures import FALLBACK
from ktrun.spec.refs import Scalar

#: "interrupted": stopped by Ctrl-C or SIGTERM; the completed trials are kept and resume.
SearchStatus = Literal["completed", "aborted", "exhausted", "stopped", "interrupted"]


@dataclass(frozen=True)
class TrialRecord:
    """One trial as it ended. A failed trial has no score: failures are never disguised as one.
    A pruned one (`tuner.pruner`) has its partial curve's best, and is never ranked or best."""

    trial_id: str
    status: Literal["completed", "failed", "pruned"]
    hyperparameters: dict[str, Scalar]
    score: float | None = None
    #: Cross-validation: the objective of each fold (the score is their mean).
    score_folds: list[float] | None = None
    failure_class: str | None = None  # a name in `ktrun.spec.failures.FAILURES`
    phase: str | None = None  # "build" | "fit" | "evaluate"
    exception_type: str | None = None
    message: str | None = None
    epochs: int | None = None  # epochs actually trained
    #: The epoch (1-based, counted from the first) at which its objective was best: Keras Tuner's
    #: `best_step`, plus Hyperband's `tuner/initial_epoch`. The final stage trains this many.
    best_epoch: int | None = None
    seconds: float | None = None
    attempts: int = 1
    #: The batch size it trained with when an out-of-memory retry halved it (None: the configured
    #: one); its retrain command and `final.retrain` use it too.
    batch_size: int | None = None
    #: Several objectives: each one's value by name (the first is `score`; `params` and `flops`
    #: counted from the point's shapes; None where unknown). Empty for a single objective.
    objectives: dict[str, float | None] = field(default_factory=dict)
    #: The objective at each epoch's end, as (epoch, value) with epochs 1-based (the mean over
    #: folds and executions); empty when unknown (a trial journaled by an older ktrun).
    curve: tuple[tuple[int, float], ...] = ()

    @property
    def score_std(self) -> float | None:
        """The spread of the fold scores (population standard deviation; None without folds)."""
        if not self.score_folds:
            return None
        mean = sum(self.score_folds) / len(self.score_folds)
        return math.sqrt(sum((s - mean) ** 2 for s in self.score_folds) / len(self.score_folds))

    @property
    def scored(self) -> bool:
        return self.status == "completed" and self.score is not None and math.isfinite(self.score)


@dataclass(frozen=True)
class FinalResult:
    """The final stage (`final.retrain`): the best trial retrained and scored on the test split."""

    trial_id: str
    epochs: int
    test: dict[str, float]  # every compiled metric by its Keras name (loss, accuracy, ...)
    model: str | None  # the saved retrained model
    rows: int = 0  # test rows
    train_rows: int = 0  # rows it was trained on (training + validation)
    error: str | None = None  # why the stage failed (then `test` is empty)


@dataclass(frozen=True)
class HpAxis:
    """How a hyperparameter reads on a plot's axis: its type, whether it is sampled in log
    scale, and its values when they are few enough to name (a choice's in declared order)."""

    type: Literal["int", "float", "choice", "boolean", "fixed"]
    log: bool = False
    values: tuple[Scalar, ...] | None = None


@dataclass
class SearchOutcome:
    experiment: str
    objective_name: str
    direction: Literal["min", "max"]
    status: SearchStatus
    trials: list[TrialRecord]
    seconds: float
    abort_reason: str | None = None
    #: Why a budget stopped the search (`tuner.time_limit`, `target_score`, `patience`).
    stop_reason: str | None = None
    #: Candidates never trained because they were known to be invalid: reason → count, where a
    #: reason is a constraint as written or a shape code such as `kernel-too-large`.
    rejected: dict[str, int] = field(default_factory=dict)
    #: Every Keras Tuner hyperparameter (instances included), in declaration order.
    hyperparameter_names: list[str] = field(default_factory=list)
    #: Each hyperparameter's axis for the plots (missing: read from the values themselves).
    hyperparameter_axes: dict[str, HpAxis] = field(default_factory=dict)
    #: The experiment's overrides, to print a command that retrains the best trial.
    overrides: list[str] = field(default_factory=list)
    #: The config directories searched before ktrun's own (`--config-dir`, `hydra.searchpath`).
    config_dirs: list[str] = field(default_factory=list)
    best_model_path: str | None = None
    state_dir: str | None = None
    #: Trials that came from an earlier, interrupted run of the same search.
    resumed_trials: int = 0
    #: An earlier search's trials told to this one as history (`tuner.warm_start.search`).
    history_trials: int = 0
    #: The signal that interrupted the search (SIGINT, SIGTERM), for the exit code 128 + n.
    signal: int | None = None
    #: `fit.cross_validation.folds` (None: one validation split).
    folds: int | None = None
    #: The final stage's result, when `final.retrain` ran.
    final: FinalResult | None = None
    #: Several objectives (`objective: [...]`), the first first; empty for a single objective.
    objectives: list[Objective] = field(default_factory=list)
    #: `objective_best`: which trial of the Pareto front is `best()`.
    best_rule: Rule = "first"

    def best(self) -> TrialRecord | None:
        """The best completed trial with a finite score (None when there is none); with several
        objectives, the one `best_rule` picks (None when no trial is within its limits)."""
        scored = [t for t in self.trials if t.scored]
        if not scored:
            return None
        if self.objectives:
            chosen = pareto.choose(self.points(), self.objectives, self.best_rule)
            return None if chosen is None else next(t for t in scored if t.trial_id == chosen[0])
        sign = 1.0 if self.direction == "max" else -1.0
        return max(scored, key=lambda t: sign * (t.score or 0.0))

    def points(self) -> list[pareto.Point]:
        """Completed trials with a finite value for every objective, as the Pareto functions take them."""
        out = []
        for t in self.trials:
            values = [t.objectives.get(o.name) for o in self.objectives]
            if t.scored and all(v is not None and math.isfinite(v) for v in values):
                out.append((t.trial_id, tuple(float(v) for v in values if v is not None)))
        return out

    def pareto_front_points(self) -> list[pareto.Point]:
        return pareto.front(self.points(), self.objectives)

    def pareto_front(self) -> list[TrialRecord]:
        """The completed trials no other trial beats in every objective, in trial order."""
        ids = {p[0] for p in self.pareto_front_points()}
        return [t for t in self.trials if t.trial_id in ids]

    def failed_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            if t.status == "failed":
                key = t.failure_class or FALLBACK
                out[key] = out.get(key, 0) + 1
        return out
