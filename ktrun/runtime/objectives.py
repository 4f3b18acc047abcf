"""Each trial's value for every objective of a multi-objective search (`objective: [...]`).

The first is Keras Tuner's score; other metrics are read at the epoch where the first was best
(the model the trial keeps); `params` and `flops` are counted from the trial's point by the
same shape walk `check` uses, so they cost nothing and never need training.
"""

from __future__ import annotations

import math
from typing import Any

from ktrun.analysis.pareto import Limits, Objective, Rule
from ktrun.analysis.size import counts_at
from ktrun.compiler.plan import Plan
from ktrun.spec.refs import Scalar


def objectives(plan: Plan) -> list[Objective]:
    """The search's objectives with their directions (empty for a single objective)."""
    listed = plan.spec.objectives
    return [Objective(o.name, d) for o, d in zip(listed, plan.checked.directions, strict=True)]  # type: ignore[arg-type]


def trial_values(plan: Plan, trial: Any, values: dict[str, Scalar]) -> dict[str, float | None]:
    """`{val_accuracy: 0.93, params: 12810.0}`: one completed trial's value for each objective."""
    found = objectives(plan)
    if not found:
        return {}
    counts = counts_at(plan.checked.checker, values)
    out: dict[str, float | None] = {}
    for i, o in enumerate(found):
        if i == 0:
            out[o.name] = None if trial.score is None else float(trial.score)
        elif o.name in ("params", "flops"):
            count = None if counts is None else counts[0 if o.name == "params" else 1]
            out[o.name] = None if count is None or not count.exact else count.total
        else:
            out[o.name] = _metric_at_best_step(trial, o.name)
    return out


def _metric_at_best_step(trial: Any, name: str) -> float | None:
    """The metric's value at the step Keras Tuner kept (its best otherwise)."""
    tracker = trial.metrics
    if not tracker.exists(name):
        return None
    for observation in tracker.get_history(name):
        if observation.step == trial.best_step:
            value = float(observation.mean())
            return value if math.isfinite(value) else None
    best = tracker.get_best_value(name)
    return None if best is None else float(best)


def best_rule(plan: Plan) -> Rule:
    """`objective_best` as the Pareto functions take it."""
    rule = plan.spec.objective_best
    return rule if isinstance(rule, str) else Limits(dict(rule.max), dict(rule.min))
