"""`tuner.algorithm: hyperband`: many short trials, the best promoted to longer training."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from ktrun import problems as pb
from ktrun.algorithms.base import Algorithm, TunerFacts
from ktrun.problems import Problem
from ktrun.spec.base import Strict


class HyperbandSettings(Strict):
    """Keras Tuner's Hyperband: many short trials, the best trained longer."""

    max_epochs: int = Field(9, ge=1, description="Epochs of the longest bracket (owns fit.epochs).")
    factor: int = Field(3, ge=2, description="Each bracket keeps the best 1/factor of its trials (>= 2).")
    iterations: int = Field(1, ge=1, description="Times the whole Hyperband schedule is run.")


def schedule(max_epochs: int, factor: int, iterations: int) -> tuple[int, int]:
    """(brackets, epochs trained in total) for Keras Tuner's Hyperband schedule, approximately."""
    brackets = int(math.log(max_epochs, factor) + 1e-9) + 1
    total = 0
    for b in range(brackets):
        n = math.ceil(brackets / (b + 1) * factor**b)
        for r in range(b + 1):
            trials = max(1, math.floor(n / factor**r))
            epochs = max_epochs / factor ** (b - r)
            total += int(trials * math.ceil(epochs))
    return brackets, total * iterations


class Hyperband(Algorithm):
    """Many short trials, the best promoted to longer training; it owns each trial's epochs."""

    name = "hyperband"
    settings = HyperbandSettings
    keras_oracle = "HyperbandOracle"
    schedules_epochs = True

    def oracle_kwargs(self, settings: HyperbandSettings, common: dict[str, Any]) -> dict[str, Any]:
        """Keras Tuner's Hyperband takes no max_trials: the runtime sets it as a cap afterwards."""
        s, rest = settings, {k: v for k, v in common.items() if k != "max_trials"}
        return {"max_epochs": s.max_epochs, "factor": s.factor, "hyperband_iterations": s.iterations, **rest}

    def checks(self, settings: HyperbandSettings, facts: TunerFacts) -> Iterator[Problem]:
        if facts.epochs_tuned:
            yield pb.error(
                "hyperband-epochs-tunable",
                ("fit", "epochs"),
                "Hyperband decides each trial's epochs itself; fit.epochs cannot be tuned",
                "set fit.epochs to a number and tune tuner.hyperband.max_epochs instead",
            )
        if settings.max_epochs < settings.factor:
            yield pb.warning(
                "hyperband-single-bracket",
                ("tuner", "hyperband", "max_epochs"),
                f"max_epochs {settings.max_epochs} < factor {settings.factor}: Hyperband "
                "degenerates into random search with full training",
                f"raise max_epochs to at least {settings.factor**2}, or use random search",
            )

    def budget(self, settings: HyperbandSettings, facts: TunerFacts) -> str:
        s = settings
        brackets, total = schedule(s.max_epochs, s.factor, s.iterations)
        return (
            f"- Hyperband: max_epochs {s.max_epochs}, factor {s.factor}, {brackets} "
            f"bracket(s); at most about {total * facts.executions_per_trial} epochs trained "
            f"(capped by max_trials {facts.max_trials})"
        )


ALGORITHM = Hyperband()
