"""`tuner.algorithm: cmaes`: Optuna's CMA-ES over ktrun's numeric hyperparameters."""

from __future__ import annotations

from pydantic import Field

from ktrun.algorithms.optuna_samplers import OptunaAlgorithm
from ktrun.spec.base import Strict


class CmaEsSettings(Strict):
    n_startup_trials: int = Field(
        1, ge=0, description="Random trials before the evolution strategy proposes (Optuna's default)."
    )


class CmaEs(OptunaAlgorithm):
    """Optuna's CMA-ES for numeric spaces; choices and conditional values are sampled at random."""

    name = "cmaes"
    settings = CmaEsSettings


ALGORITHM = CmaEs()
