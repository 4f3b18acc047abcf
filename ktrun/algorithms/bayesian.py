"""`tuner.algorithm: bayesian`: Keras Tuner's Gaussian-process Bayesian optimisation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from ktrun import problems as pb
from ktrun.algorithms.base import Algorithm, TunerFacts
from ktrun.problems import Problem
from ktrun.spec.base import Strict


class BayesianSettings(Strict):
    """Keras Tuner's Gaussian-process Bayesian optimisation."""

    num_initial_points: int | None = Field(
        3,
        ge=1,
        description=(
            "Random trials before the Gaussian process proposes. null: Keras Tuner's own 3 per "
            "hyperparameter, which makes every trial of a small search random."
        ),
    )
    alpha: float = Field(
        1e-4, gt=0.0, description="The noise the Gaussian process assumes in the scores it fits (> 0)."
    )
    beta: float = Field(
        2.6, ge=0.0, description="Exploration: how much the upper confidence bound weighs uncertainty."
    )


class Bayesian(Algorithm):
    """Gaussian-process Bayesian optimisation; the first num_initial_points trials are random."""

    name = "bayesian"
    settings = BayesianSettings
    keras_oracle = "BayesianOptimizationOracle"

    def oracle_kwargs(self, settings: BayesianSettings, common: dict[str, Any]) -> dict[str, Any]:
        s = settings
        return {"num_initial_points": s.num_initial_points, "alpha": s.alpha, "beta": s.beta, **common}

    def checks(self, settings: BayesianSettings, facts: TunerFacts) -> Iterator[Problem]:
        nip = settings.num_initial_points
        if nip is not None and nip >= facts.max_trials:
            yield pb.warning(
                "bayesian-all-random",
                ("tuner", "bayesian", "num_initial_points"),
                f"num_initial_points {nip} >= max_trials {facts.max_trials}: every trial is random",
                "lower num_initial_points or raise max_trials",
            )


ALGORITHM = Bayesian()
