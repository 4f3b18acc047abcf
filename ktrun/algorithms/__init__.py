"""Every search algorithm `tuner.algorithm` can name, one module each, and the registry.

The spec (`tuner.algorithm` and its `tuner.<name>` section), `ktrun check`, `ktrun plan` and the
runtime's oracle all read `ALGORITHMS`, so an algorithm is added in one module: an `Algorithm`
subclass (`ktrun.algorithms.base`) whose instance `ALGORITHM` is listed below. Keras Tuner's
oracles are named by class; an algorithm Keras Tuner lacks also registers its oracle in
`ktrun.runtime.oracles`.
Its preset `conf/tuner/<name>.yaml` lets users write `tuner=<name>` (a contract test asks for it).
"""

from __future__ import annotations

from ktrun.algorithms import bayesian, cmaes, grid, hyperband, random_search, tpe
from ktrun.algorithms.base import Algorithm, TunerFacts, registry

ALGORITHMS: dict[str, Algorithm] = registry(
    random_search.ALGORITHM,
    bayesian.ALGORITHM,
    hyperband.ALGORITHM,
    grid.ALGORITHM,
    tpe.ALGORITHM,
    cmaes.ALGORITHM,
)

__all__ = ["ALGORITHMS", "Algorithm", "TunerFacts"]
