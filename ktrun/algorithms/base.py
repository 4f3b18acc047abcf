"""`Algorithm`: what one `tuner.algorithm` value is to ktrun: its settings, checks, plan line, oracle.

The spec reads its settings model (the `tuner.<name>` section), `ktrun check` its checks,
`ktrun plan` its budget line, and the runtime its oracle: a Keras Tuner oracle named by class
(construction as data, as for layer types: only the runtime imports Keras Tuner) or, for what
Keras Tuner lacks, ktrun's own oracle registered in the runtime under the same name.
Feasible-only sampling is added by the runtime to every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ktrun.problems import Problem
from ktrun.spec.base import Strict


@dataclass(frozen=True)
class TunerFacts:
    """What an algorithm's checks and plan line may know about the rest of the experiment."""

    max_trials: int
    executions_per_trial: int
    #: `fit.epochs` is a hyperparameter.
    epochs_tuned: bool
    #: Hyperparameters with infinitely many values (floats without a step), in declaration order.
    continuous: tuple[str, ...]
    #: How many objectives the search has (`objectives:`; 1 for a single `objective`).
    objectives: int = 1


class Algorithm:
    """One `tuner.algorithm`; its docstring is the one-line summary users see."""

    #: The value of `tuner.algorithm` that selects it.
    name: str
    #: The `tuner.<name>` section, when the algorithm has settings of its own.
    settings: type[Strict] | None = None
    #: Its oracle's class under `keras_tuner.oracles`; None: ktrun's own oracle of this name.
    keras_oracle: str | None = None
    #: It decides each trial's epochs (Keras Tuner's Hyperband tuner runs it): every trial's
    #: model may be reloaded, and `max_trials` caps its own plan rather than the space.
    schedules_epochs: bool = False

    @property
    def summary(self) -> str:
        return (type(self).__doc__ or "").strip()

    def oracle_kwargs(self, settings: Any, common: dict[str, Any]) -> dict[str, Any]:
        """The oracle's keyword arguments, from its settings and what every oracle gets
        (objective, max_trials, seed, hyperparameters, retries)."""
        return common

    def checks(self, settings: Any, facts: TunerFacts) -> Iterator[Problem]:
        """Problems with its settings against the rest of the experiment (`ktrun check`)."""
        return iter(())

    def budget(self, settings: Any, facts: TunerFacts) -> str | None:
        """The line `ktrun plan` gives its budget; None: trials × epochs × executions."""
        return None


def registry(*algorithms: Algorithm) -> dict[str, Algorithm]:
    """By name, in the order given (the order users see them in); a name given twice is refused."""
    out: dict[str, Algorithm] = {}
    for a in algorithms:
        if a.name in out:
            raise TypeError(f"tuner algorithm {a.name!r} is registered twice")
        out[a.name] = a
    return out
