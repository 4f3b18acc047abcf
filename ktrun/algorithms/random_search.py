"""`tuner.algorithm: random`: Keras Tuner's random search, feasible points only."""

from __future__ import annotations

from ktrun.algorithms.base import Algorithm


class RandomSearch(Algorithm):
    """Uniformly random feasible points; the baseline every other algorithm must beat."""

    name = "random"
    keras_oracle = "RandomSearchOracle"


ALGORITHM = RandomSearch()
