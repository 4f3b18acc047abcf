"""The tuner algorithm registry: one module per `tuner.algorithm`, read by spec, check, plan, runtime."""

from __future__ import annotations

from typing import get_args

import pytest
import yaml

from ktrun.algorithms import ALGORITHMS, Algorithm
from ktrun.algorithms.base import registry
from ktrun.algorithms.hyperband import schedule
from ktrun.spec.experiment import TunerSpec
from tests.conftest import CONF


def test_the_spec_offers_exactly_the_registered_algorithms_with_their_sections() -> None:
    field = TunerSpec.model_fields["algorithm"]
    assert list(get_args(field.annotation)) == list(ALGORITHMS)
    sections = {a.name: a.settings for a in ALGORITHMS.values() if a.settings is not None}
    for name, model in sections.items():
        assert TunerSpec.model_fields[name].annotation is model
        assert TunerSpec(algorithm=name).settings() == model()
    assert TunerSpec(algorithm="grid").settings() is None  # grid has no section of its own


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_algorithm_has_a_preset_that_selects_it_and_says_what_it_is(name: str) -> None:
    path = CONF / "tuner" / f"{name}.yaml"
    assert path.is_file(), f"add conf/tuner/{name}.yaml so that `tuner={name}` works"
    assert yaml.safe_load(path.read_text())["algorithm"] == name
    first = path.read_text().splitlines()[0]
    assert first == f"# {ALGORITHMS[name].summary}", "the preset's first line is the algorithm's summary"


def test_every_oracle_exists_keras_tuner_s_by_name_ktrun_s_in_the_runtime() -> None:
    import keras_tuner as kt

    from ktrun.runtime.optuna_oracle import ORACLES as OPTUNA_ORACLES
    from ktrun.runtime.oracles import OWN_ORACLES, FeasibleMixin, oracle_class

    own = {n for n, a in ALGORITHMS.items() if a.keras_oracle is None}
    assert set(OWN_ORACLES) | set(OPTUNA_ORACLES) == own and not set(OWN_ORACLES) & set(OPTUNA_ORACLES)
    for name, algorithm in ALGORITHMS.items():
        cls = oracle_class(name)
        assert issubclass(cls, FeasibleMixin) and issubclass(cls, kt.Oracle)
        if algorithm.keras_oracle is not None:
            assert issubclass(cls, getattr(kt.oracles, algorithm.keras_oracle))
            assert cls.populate_space is FeasibleMixin.populate_space  # proposals are checked


def test_a_name_registered_twice_is_refused() -> None:
    class Again(Algorithm):
        """Random search again."""

        name = "random"
        keras_oracle = "RandomSearchOracle"

    twice = Again()
    with pytest.raises(TypeError, match="registered twice"):
        registry(ALGORITHMS["random"], twice)


@pytest.mark.parametrize(
    ("max_epochs", "factor", "brackets"),
    [(9, 3, 3), (27, 3, 4), (2, 3, 1), (100, 3, 5), (8, 2, 4)],
)
def test_hyperband_s_schedule_has_keras_tuner_s_bracket_count(
    max_epochs: int, factor: int, brackets: int
) -> None:
    """Keras Tuner's `HyperbandOracle._get_num_brackets`: floor(log_factor(max_epochs)) + 1."""
    import keras_tuner as kt

    oracle = kt.oracles.HyperbandOracle(max_epochs=max_epochs, factor=factor)
    assert schedule(max_epochs, factor, 1)[0] == brackets == oracle._get_num_brackets()
