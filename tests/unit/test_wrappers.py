"""Bidirectional and TimeDistributed: the wrapped layer's references, checks, shapes and hints are
its own type's, at its key path (`model.layers.N.layer`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrun.analysis.shapes import infer
from ktrun.analysis.unroll import unroll
from ktrun.checks import CheckReport
from ktrun.layers.base import ConcreteLayer
from ktrun.pipeline import check_one
from tests.integration.test_search import write_experiment

STACKED_BIDIRECTIONAL = """
hyperparameters:
  layers: {type: int, min: 1, max: 2}
  units: {type: choice, values: [4, 8]}
  merge: {type: choice, values: [concat, sum]}
model:
  layers:
    - {type: Reshape, target_shape: [8, 8]}
    - {type: TimeDistributed, layer: {type: Dense, units: 3}}
    - type: repeat
      times: $layers
      layers:
        - type: Bidirectional
          merge_mode: $merge
          layer: {type: LSTM, units: $units, return_sequences: true, dropout: 0.1}
          last: {layer: {type: GRU, units: $units}}
    - {type: Dense, units: 10, activation: softmax}
"""


def _check(conf: Path, body: str, name: str = "wrapped") -> CheckReport:
    write_experiment(conf, name, body)
    return check_one([f"+experiment={name}"], extra=[conf])


def test_wrapped_references_are_hyperparameters_of_their_own_argument(tmp_conf: Path) -> None:
    """`$units` inside the wrapped LSTM is one instance per repetition, used as LSTM.units (a
    shape argument), at the wrapped layer's key path."""
    report = _check(tmp_conf, STACKED_BIDIRECTIONAL)
    assert report.checked is not None and not report.errors, report.problems
    space = report.checked.space
    assert {"units_1", "units_2", "merge_1", "merge_2"} <= set(space.params)
    units = [u for u in space.uses if u.ref == "units"]
    assert {(u.owner, u.arg) for u in units} == {("LSTM", "units"), ("GRU", "units")}
    assert ("model", "layers", 2, "layers", 0, "layer", "units") in {u.path for u in units}
    assert ("model", "layers", 2, "layers", 0, "last", "layer", "units") in {u.path for u in units}


def test_unroll_makes_the_wrapped_layer_concrete_and_last_replaces_it(tmp_conf: Path) -> None:
    report = _check(tmp_conf, STACKED_BIDIRECTIONAL)
    assert report.checked is not None
    point = {"layers": 2, "units_1": 4, "units_2": 8, "merge_1": "concat", "merge_2": "sum"}
    layers = unroll(report.checked.spec.model.layers, point)
    first, second = (c.args["layer"] for c in layers[2:4])
    assert isinstance(first, ConcreteLayer) and isinstance(second, ConcreteLayer)
    assert (first.layer.type, first.args["units"], first.args["return_sequences"]) == ("LSTM", 4, True)
    assert (second.layer.type, second.args["units"], second.args["return_sequences"]) == ("GRU", 8, False)
    assert first.path == ("model", "layers", 2, "layers", 0, "layer")
    assert second.path == ("model", "layers", 2, "layers", 0, "last", "layer")
    assert set(layers[2].refs) == {"merge_1", "units_1"}
    trace = infer((64,), layers)
    assert trace.failure is None
    assert [s for _, s in trace.steps] == [(8, 8), (8, 3), (8, 8), (8,), (10,)]  # concat 2x4, sum of 8


def test_time_distributed_applies_its_layer_to_each_step() -> None:
    body = {"type": "TimeDistributed", "layer": {"type": "Conv1D", "filters": 2, "kernel_size": 3}}
    from ktrun.spec.experiment import ExperimentSpec

    spec = ExperimentSpec.model_validate({"experiment": {"name": "t"}, "model": {"layers": [body]}})
    layers = unroll(spec.model.layers, {})
    assert infer((4, 10, 1), layers).output == (4, 8, 2)
    failure = infer((4, 2, 1), layers).failure
    assert failure is not None and failure.code == "kernel-too-large"
    assert failure.path == ("model", "layers", 0, "layer", "kernel_size")
    no_time = infer((5,), layers).failure
    assert no_time is not None and no_time.code == "rank-mismatch"


NOT_RECURRENT = """
model:
  layers:
    - {type: Reshape, target_shape: [8, 8]}
    - type: Bidirectional
      layer: {type: Dense, units: 8}
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
"""


def test_a_layer_bidirectional_cannot_wrap_is_named_with_what_it_can(tmp_conf: Path) -> None:
    (problem,) = _check(tmp_conf, NOT_RECURRENT).errors
    assert problem.code == "layer-not-wrappable"
    assert problem.path == ("model", "layers", 1, "layer", "type")
    assert problem.message == "Bidirectional cannot wrap a `Dense` layer (at model.layers.1.layer)"
    assert problem.hint == "Bidirectional wraps one of: LSTM, GRU, SimpleRNN"


BAD_INNER = """
hyperparameters:
  rate: {type: float, min: 0.0, max: 1.0}
model:
  layers:
    - {type: Reshape, target_shape: [8, 8]}
    - type: Bidirectional
      layer: {type: LSTM, units: 0, dropout: $rate}
    - {type: Dense, units: 10, activation: softmax}
"""


def test_a_wrapped_layer_s_arguments_are_range_checked_at_their_key_path(tmp_conf: Path) -> None:
    problems = {p.code + ":" + ".".join(map(str, p.path)): p for p in _check(tmp_conf, BAD_INNER).errors}
    units = problems["arg-out-of-range:model.layers.1.layer.units"]
    assert units.message == "LSTM.units = 0 is not an integer from 1 to 2,147,483,647"
    assert units.hint == "give an integer from 1 to 2,147,483,647"
    rate = problems["arg-out-of-range:hyperparameters.rate.max"]
    assert "LSTM.dropout at model.layers.1.layer.dropout" in rate.message


def test_when_and_last_belong_on_the_wrapper(tmp_conf: Path) -> None:
    body = NOT_RECURRENT.replace("{type: Dense, units: 8}", "{type: LSTM, units: 8, when: {x: [1]}}")
    (problem,) = _check(tmp_conf, body).errors
    assert problem.path == ("model", "layers", 1, "layer")
    assert "set `when:` on the wrapper" in problem.message


FLAT_BIDIRECTIONAL = """
model:
  layers:
    - {type: Reshape, target_shape: [8, 8]}
    - {type: Bidirectional, layer: {type: LSTM, units: 8}}
    - {type: Bidirectional, layer: {type: LSTM, units: 8}}
    - {type: Dense, units: 10, activation: softmax}
"""


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (FLAT_BIDIRECTIONAL, "set `return_sequences: true` on the LSTM at model.layers.1.layer"),
        (
            FLAT_BIDIRECTIONAL.replace(
                "    - {type: Bidirectional, layer: {type: LSTM, units: 8}}\n    - {type: B",
                "    - type: repeat\n      times: 2\n      layers:\n        - {type: B",
            ),
            "set `return_sequences: true` on the LSTM at model.layers.1.layers.0.layer (repetition 1)"
            " (in a repeat block, `last: {layer: ...}` with `return_sequences: false` keeps the last"
            " one flat)",
        ),
    ],
)
def test_the_return_sequences_hint_reaches_into_bidirectional(tmp_conf: Path, body: str, hint: str) -> None:
    (rank,) = [p for p in _check(tmp_conf, body).errors if p.code == "rank-mismatch"]
    assert rank.path[-1] == "layer"  # the wrapped layer that receives no sequence
    assert rank.hint == hint
