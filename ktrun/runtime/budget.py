"""Search budgets beyond the trial count: wall time, a target score, patience (`tuner.time_limit`,
`tuner.target_score`, `tuner.patience`).

The oracle asks before every new trial (`stop_reason`), so a single process and a distributed
chief stop the same way: no new trial starts, a running one finishes. Wall time adds up over the
runs of one search (the oracle's state keeps what earlier runs used); the target and patience are
read from the ended trials, so a resumed search that already met them stops at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class Budget:
    """What the user allowed, and the wall time the search has used so far."""

    time_limit: float | None = None
    target_score: float | None = None
    patience: int | None = None
    direction: Literal["min", "max"] = "max"
    objective: str = "score"
    #: Seconds earlier runs of this search used (from the oracle's saved state).
    used: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def limited(self) -> bool:
        return self.time_limit is not None or self.target_score is not None or self.patience is not None

    def elapsed(self) -> float:
        return self.used + (time.monotonic() - self.started)

    def stop_reason(
        self, trials: Mapping[str, Any], end_order: Sequence[str], pruned: Collection[str] = ()
    ) -> str | None:
        """Why no new trial may start (None while the budget lasts). `trials` are Keras Tuner's;
        `pruned` are those `tuner.pruner` cut: Keras Tuner holds them completed with their partial
        best, but they are never the best, so none of them reaches the target."""
        if self.time_limit is not None and (spent := self.elapsed()) >= self.time_limit:
            return f"tuner.time_limit={self.time_limit:g} s reached ({spent:.0f} s of search)"
        scored = [
            (t, float(trials[t].score))
            for t in end_order
            if t in trials
            and trials[t].status == "COMPLETED"
            and trials[t].score is not None
            and math.isfinite(float(trials[t].score))
        ]
        if self.target_score is not None:
            target = self.target_score
            reached = next(((t, s) for t, s in scored if t not in pruned and self._reaches(s, target)), None)
            if reached is not None:
                return (
                    f"tuner.target_score={self.target_score:g} reached: trial {reached[0]} has "
                    f"{self.objective} = {reached[1]:.6g}"
                )
        if self.patience is not None:
            # A pruned trial never sets the best (its partial best is no model's); it is one more
            # trial that did not improve on it.
            best_id, best, since = None, math.nan, 0
            for trial_id, score in scored:
                if trial_id in pruned:
                    since += best_id is not None
                elif best_id is None or self._better(score, best):
                    best_id, best, since = trial_id, score, 0
                else:
                    since += 1
            if best_id is not None and since >= self.patience:
                return (
                    f"tuner.patience={self.patience}: {since} trials in a row (pruned ones too) "
                    f"without a better {self.objective} than trial {best_id}'s {best:.6g}"
                )
        return None

    def _reaches(self, score: float, target: float) -> bool:
        return score >= target if self.direction == "max" else score <= target

    def _better(self, score: float, best: float) -> bool:
        return score > best if self.direction == "max" else score < best
