"""`tuner.algorithm: cmaes`: Optuna's CMA-ES over ktrun's numeric hyperparameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from ktrun.algorithms.base import Algorithm, TunerFacts
from ktrun.algorithms.optuna_samplers import optuna_missing
from ktrun.problems import Problem
from ktrun.spec.base import Strict


class CmaEsSettings(Strict):
    n_startup_trials: int = Field(
        1, ge=0, description="Random trials before the evolution strategy proposes (Optuna's default)."
    )


class CmaEs(Algorithm):
    """Optuna's CMA-ES for numeric spaces; choices and conditional values are sampled at random."""

    name = "cmaes"
    settings = CmaEsSettings

    def checks(self, settings: CmaEsSettings, facts: TunerFacts) -> Iterator[Problem]:
        yield from optuna_missing(self.name)

    def oracle_kwargs(self, settings: Any, common: dict[str, Any]) -> dict[str, Any]:
        return {**common, "ktrun_settings": settings}


ALGORITHM = CmaEs()
