"""`first:` and `last:` in a repeat block: the arguments that differ on the first or the last
repetition (stacked LSTMs return sequences on all but the last), for every repeat count."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrun.analysis.unroll import unroll
from ktrun.checks import CheckReport
from ktrun.layers.base import ConcreteLayer
from ktrun.pipeline import check_one
from ktrun.spec.refs import Scalar
from tests.integration.test_search import write_experiment

STACKED = """
hyperparameters:
  lstm_layers: {type: int, min: 1, max: 3}
  units: {type: choice, values: [8, 16]}
model:
  layers:
    - {type: Reshape, target_shape: [8, 8]}
    - type: repeat
      times: $lstm_layers
      layers:
        - {type: LSTM, units: $units, return_sequences: true, first: {dropout: 0.1},
           last: {return_sequences: false}}
    - {type: Dense, units: 10, activation: softmax}
"""


def _checked(conf: Path, body: str) -> CheckReport:
    write_experiment(conf, "stacked", body)
    report = check_one(["+experiment=stacked"], extra=[conf])
    assert report.checked is not None and not report.errors, report.problems
    return report


def _lstms(report: CheckReport, point: dict[str, Scalar]) -> list[ConcreteLayer]:
    assert report.checked is not None
    return [c for c in unroll(report.checked.spec.model.layers, point) if c.layer.type == "LSTM"]


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_last_repetition_takes_its_own_arguments(tmp_conf: Path, count: int) -> None:
    report = _checked(tmp_conf, STACKED)
    point: dict[str, Scalar] = {"lstm_layers": count, **{f"units_{i}": 8 for i in range(1, count + 1)}}
    lstms = _lstms(report, point)
    assert [c.args["return_sequences"] for c in lstms] == [True] * (count - 1) + [False]
    assert [c.args["dropout"] for c in lstms] == [0.1] + [0.0] * (count - 1)
    assert "first" not in lstms[0].args and "last" not in lstms[-1].args  # not Keras arguments


def test_without_last_the_stack_outputs_a_sequence_and_check_says_so(tmp_conf: Path) -> None:
    write_experiment(tmp_conf, "flat", STACKED.replace(",\n           last: {return_sequences: false}}", "}"))
    report = check_one(["+experiment=flat"], extra=[tmp_conf])
    assert "output-rank" in {p.code for p in report.errors}


def test_an_override_is_checked_like_the_argument_it_changes(tmp_conf: Path) -> None:
    write_experiment(tmp_conf, "bad", STACKED.replace("first: {dropout: 0.1}", "first: {dropout: 1.5}"))
    report = check_one(["+experiment=bad"], extra=[tmp_conf])
    (problem,) = [p for p in report.errors if p.code == "arg-out-of-range"]
    assert problem.path == ("model", "layers", 1, "layers", 0, "first", "dropout")


def test_a_reference_in_an_override_is_a_use_of_its_hyperparameter(tmp_conf: Path) -> None:
    body = STACKED.replace(
        "last: {return_sequences: false}", "last: {return_sequences: false, units: $last_units}"
    )
    body = body.replace(
        "hyperparameters:\n", "hyperparameters:\n  last_units: {type: choice, values: [4, 8]}\n"
    )
    report = _checked(tmp_conf, body)
    assert "hp-unused" not in {p.code for p in report.problems}
    point: dict[str, Scalar] = {
        "lstm_layers": 2,
        "units_1": 16,
        "units_2": 16,
        "last_units_2": 4,
        "last_units_1": 8,
    }
    lstms = _lstms(report, point)
    assert [c.args["units"] for c in lstms] == [16, 4]
