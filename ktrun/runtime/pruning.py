"""Pruning: a trial plainly worse than its peers after a few epochs is stopped (`tuner.pruner`).

Keras Tuner never reports a trial's epochs to its oracle; ktrun does (`update_trial` at every
epoch's end), and the oracle decides here from the objective's per-epoch values of every trial it
holds, so a distributed chief prunes for all its workers alike. A pruned trial keeps its partial
curve, counts against the budget, and is neither completed (it is never "best") nor failed.

- `median` / `percentile`: after `warmup_epochs`, and once `startup_trials` have ended, a trial
  whose best value so far is outside the top `percentile`% of the other trials' best values up to
  the same epoch is pruned (`median`: 50%), as Optuna's pruners of those names decide.
- `successive_halving` (asynchronous, ASHA): rungs at epochs `min_epochs × reduction_factor^k`;
  at a rung a trial goes on only while it is in the top 1/`reduction_factor` of the trials that
  reached that rung (the first to arrive always does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Curve = dict[int, float]  # epoch (0-based step) → objective value


def curve(trial: Any, objective: str) -> Curve:
    """A Keras Tuner trial's recorded per-epoch objective values (finite ones)."""
    if not trial.metrics.exists(objective):
        return {}
    found: Curve = {}
    for obs in trial.metrics.get_history(objective):
        value = obs.value[0] if isinstance(obs.value, list | tuple) else obs.value
        if isinstance(value, int | float) and math.isfinite(value):
            found[int(obs.step)] = float(value)
    return found


def best_until(values: Curve, step: int, direction: Literal["min", "max"]) -> float | None:
    seen = [v for s, v in values.items() if s <= step]
    if not seen:
        return None
    return max(seen) if direction == "max" else min(seen)


def reached(curves: Mapping[str, Curve], step: int, direction: Literal["min", "max"]) -> list[float]:
    """The best value up to `step` of every trial that trained that far."""
    return [
        v
        for c in curves.values()
        if max(c, default=-1) >= step and (v := best_until(c, step, direction)) is not None
    ]


def prune_reason(
    pruner: Any,
    direction: Literal["min", "max"],
    objective: str,
    trial_id: str,
    step: int,
    curves: Mapping[str, Curve],
    ended: Sequence[str],
) -> str | None:
    """Why trial `trial_id` is pruned at epoch `step` (0-based); None while it goes on.

    `curves`: every trial's per-epoch values (this one's included); `ended`: trials that ended
    unpruned and unfailed, in order (the start-up count)."""
    own = best_until(curves.get(trial_id, {}), step, direction)
    if own is None:
        return None
    others = {t: c for t, c in curves.items() if t != trial_id}
    if pruner.type == "successive_halving":
        return _halving(pruner, direction, trial_id, step, own, others, objective)
    if step + 1 <= pruner.warmup_epochs or len(ended) < pruner.startup_trials:
        return None
    peers = reached(others, step, direction)
    if not peers:
        return None
    keep = 50.0 if pruner.type == "median" else pruner.percentile
    # The value at the edge of the top `keep`%: the (100 - keep)th percentile for max.
    edge = _percentile(peers, 100.0 - keep if direction == "max" else keep)
    worse = own < edge if direction == "max" else own > edge
    if not worse:
        return None
    name = "median" if pruner.type == "median" else f"top {keep:g}%"
    return (
        f"pruned after epoch {step + 1}: best {objective} {own:.6g} is worse than the {name} "
        f"of {len(peers)} other trial(s) at that epoch ({edge:.6g})"
    )


def _halving(
    pruner: Any,
    direction: Literal["min", "max"],
    trial_id: str,
    step: int,
    own: float,
    others: Mapping[str, Curve],
    objective: str,
) -> str | None:
    epoch = step + 1
    rung, k = pruner.min_epochs, 0
    while rung < epoch:
        rung *= pruner.reduction_factor
        k += 1
    if rung != epoch:  # between rungs: go on
        return None
    at_rung = reached(others, step, direction)
    field = sorted([*at_rung, own], reverse=direction == "max")
    top = max(1, len(field) // pruner.reduction_factor)
    if field.index(own) < top:
        return None
    return (
        f"pruned at rung {k} (epoch {epoch}): best {objective} {own:.6g} is not in the top {top} of the "
        f"{len(field)} trial(s) that reached it"
    )


def _percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
