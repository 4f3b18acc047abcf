"""`tuner.algorithm: nsga2`: Optuna's NSGA-II, told every objective of a multi-objective search."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from ktrun import problems as pb
from ktrun.algorithms.base import TunerFacts
from ktrun.algorithms.optuna_samplers import OptunaAlgorithm
from ktrun.problems import Problem
from ktrun.spec.base import Strict


class Nsga2Settings(Strict):
    population_size: int = Field(
        10,
        ge=2,
        description="Trials per generation: the first generation is random, each later one bred from "
        "the best non-dominated trials so far. Optuna's default, 50, suits budgets of hundreds.",
    )
    crossover_prob: float = Field(
        0.9, gt=0, le=1, description="Chance that a child mixes two parents (else copies one)."
    )
    mutation_prob: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Chance that each value of a child is drawn afresh; None: 1 / the number of "
        "hyperparameters (Optuna's default).",
    )


class Nsga2(OptunaAlgorithm):
    """Optuna's NSGA-II: breeds trials towards the Pareto front of every objective (infeasible ones told)."""

    name = "nsga2"
    settings = Nsga2Settings

    def sampler_checks(self, settings: Nsga2Settings, facts: TunerFacts) -> Iterator[Problem]:
        if facts.objectives == 1:
            yield pb.warning(
                "nsga2-single-objective",
                ("tuner", "algorithm"),
                "tuner.algorithm nsga2 searches for the Pareto front of several objectives, and this "
                "search has one: it runs as a plain genetic algorithm",
                "list what to trade off under `objectives:` (e.g. [{name: val_accuracy}, {name: params}]), "
                "or use tuner=tpe for one objective",
            )
        if settings.population_size >= facts.max_trials:
            yield pb.warning(
                "nsga2-all-random",
                ("tuner", "nsga2", "population_size"),
                f"population_size {settings.population_size} >= max_trials {facts.max_trials}: the "
                "first generation is random, so every trial is",
                "lower tuner.nsga2.population_size or raise tuner.max_trials (a few generations at least)",
            )


ALGORITHM = Nsga2()
