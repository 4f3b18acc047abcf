"""What the Optuna-driven algorithms share: Optuna is an optional extra, checked for by `check`.

`tuner.algorithm: tpe`, `cmaes` and `nsga2` (their own modules) propose points with Optuna's samplers over
ktrun's space (conditions and repetitions included); ktrun's feasibility rules still decide before
training, and a rejected proposal is told to the sampler as infeasible, never trained.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib import util
from typing import Any

from ktrun import problems as pb
from ktrun.algorithms.base import Algorithm, TunerFacts
from ktrun.problems import Problem

#: What each Optuna algorithm imports (CMA-ES is a package of its own), as the `optuna` extra pins it.
NEEDS = {
    "tpe": ("optuna>=5,<6",),
    "cmaes": ("optuna>=5,<6", "cmaes>=0.10,<1"),
    "nsga2": ("optuna>=5,<6",),
}


def optuna_missing(algorithm: str) -> Iterator[Problem]:
    """`algorithm-needs-optuna` when a package the algorithm imports is not installed here
    (found without importing it)."""
    missing = [r for r in NEEDS[algorithm] if util.find_spec(r.split(">")[0]) is None]
    if not missing:
        return
    yield pb.error(
        "algorithm-needs-optuna",
        ("tuner", "algorithm"),
        f"tuner.algorithm {algorithm} proposes points with Optuna, and {', '.join(missing)} is not installed",
        f"install it: {sys.executable} -m pip install {' '.join(repr(r) for r in NEEDS[algorithm])} (ktrun's "
        "`optuna` extra), or choose another tuner.algorithm",
    )


class OptunaAlgorithm(Algorithm):
    """An algorithm whose oracle is one of Optuna's samplers (`ktrun.runtime.optuna_oracle`):
    `check` asks for Optuna, and the oracle gets the algorithm's own settings."""

    def checks(self, settings: Any, facts: TunerFacts) -> Iterator[Problem]:
        yield from optuna_missing(self.name)
        yield from self.sampler_checks(settings, facts)

    def sampler_checks(self, settings: Any, facts: TunerFacts) -> Iterator[Problem]:
        """The sampler's own settings against the rest of the experiment."""
        return iter(())

    def oracle_kwargs(self, settings: Any, common: dict[str, Any]) -> dict[str, Any]:
        return {**common, "ktrun_settings": settings}
