"""Every search algorithm `tuner.algorithm` can name, one module each, and the registry.

The spec (`tuner.algorithm` and its `tuner.<name>` section), `ktrun check`, `ktrun plan` and the
runtime's oracle all read `ALGORITHMS`, so an algorithm is added in one module: an `Algorithm`
subclass (`ktrun.algorithms.base`) whose instance `ALGORITHM` is listed below. Keras Tuner's
oracles are named by class; an algorithm Keras Tuner lacks also registers its oracle in
`ktrun.runtime.oracles`.
Its preset `conf/tuner/<name>.yaml` lets users write `tuner=<name>` (a contract test asks for it).
"""

from __future__ import annotations

from ktrun.algorithms import bayesian, cmaes, grid, hyperband, nsga2, random_search, tpe
from ktrun.algorithms.base import Algorithm, TunerFacts, registry

ALGORITHMS: dict[str, Algorithm] = registry(
    random_search.ALGORITHM,
    bayesian.ALGORITHM,
    hyperband.ALGORITHM,
    grid.ALGORITHM,
    tpe.ALGORITHM,
    cmaes.ALGORITHM,
    nsga2.ALGORITHM,
)


def trial_by_trial() -> str:
    """ "random, bayesian, …, tpe or nsga2": the algorithms that train whole trials one by one (not
    Hyperband's brackets), for hints on what takes a pruner or warm-start points."""
    names = [a.name for a in ALGORITHMS.values() if not a.schedules_epochs]
    return f"{', '.join(names[:-1])} or {names[-1]}"


__all__ = ["ALGORITHMS", "Algorithm", "TunerFacts", "trial_by_trial"]
