"""`tuner.algorithm: grid`: every feasible point in order; ktrun's own oracle (a lazy walk)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ktrun import problems as pb
from ktrun.algorithms.base import Algorithm, TunerFacts
from ktrun.problems import Problem


class Grid(Algorithm):
    """Every feasible point in order (floats need a step); ends when the space is exhausted."""

    name = "grid"

    def checks(self, settings: Any, facts: TunerFacts) -> Iterator[Problem]:
        continuous = facts.continuous
        if continuous:
            yield pb.error(
                "grid-infinite-space",
                ("hyperparameters", continuous[0]),
                f"grid search needs a finite space, but {', '.join(continuous)} "
                f"{'is' if len(continuous) == 1 else 'are'} continuous",
                "give each float a `step`, or use a choice of values",
            )


ALGORITHM = Grid()
