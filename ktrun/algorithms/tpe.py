"""`tuner.algorithm: tpe`: Optuna's Tree-structured Parzen Estimator over ktrun's space."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from ktrun import problems as pb
from ktrun.algorithms.base import TunerFacts
from ktrun.algorithms.optuna_samplers import OptunaAlgorithm
from ktrun.problems import Problem
from ktrun.spec.base import Strict


class TpeSettings(Strict):
    n_startup_trials: int = Field(
        10, ge=0, description="Random trials before the estimator proposes (Optuna's default)."
    )
    multivariate: bool = Field(
        True,
        description="Model the hyperparameters jointly (grouped by which are active together), not "
        "one at a time: better on spaces whose values interact.",
    )


class Tpe(OptunaAlgorithm):
    """Optuna's TPE: learns from every trial which regions score well; infeasible proposals are told to it."""

    name = "tpe"
    settings = TpeSettings

    def sampler_checks(self, settings: TpeSettings, facts: TunerFacts) -> Iterator[Problem]:
        if settings.n_startup_trials >= facts.max_trials:
            yield pb.warning(
                "tpe-all-random",
                ("tuner", "tpe", "n_startup_trials"),
                f"n_startup_trials {settings.n_startup_trials} >= max_trials {facts.max_trials}: "
                "every trial is random",
                "lower tuner.tpe.n_startup_trials or raise tuner.max_trials",
            )


ALGORITHM = Tpe()
