"""Arguments computed from hyperparameters (`"28 - image_size"`, `"not freeze"`): read as
expressions, resolved per point like references (a repeat block's names per repetition), and
checked over every combination of what they read."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ktrun.analysis.space import build_space, refs_in
from ktrun.analysis.unroll import unroll
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.refs import MAX_EXPRESSION, HpExpr, HpRef


def _spec(layers: list[dict[str, Any]], hps: dict[str, Any]) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "hyperparameters": hps, "model": {"layers": layers}}
    )


def test_a_string_where_a_number_or_boolean_goes_is_an_expression_and_round_trips() -> None:
    spec = _spec(
        [
            {"type": "Cropping2D", "cropping": [[0, "28 - size"], [0, "28-size"]]},
            {"type": "Flatten"},
            {"type": "Dense", "units": "size * 2", "use_bias": "not flag"},
        ],
        {"size": {"type": "int", "min": 10, "max": 28}, "flag": {"type": "boolean"}},
    )
    crop, _, dense = spec.model.layers
    assert crop.cropping == [[0, HpExpr("28 - size")], [0, HpExpr("28-size")]]  # type: ignore[union-attr]
    assert dense.units == HpExpr("size * 2")  # type: ignore[union-attr]
    dumped = spec.model_dump(mode="json")["model"]["layers"]
    assert dumped[0]["cropping"] == [[0, "28 - size"], [0, "28-size"]]
    assert dumped[2]["use_bias"] == "not flag"
    assert ExperimentSpec.model_validate(spec.model_dump(mode="json")) == spec
    assert refs_in(dense.units) == [HpRef("size")]  # type: ignore[union-attr]
    space = build_space(spec)
    assert {u.param for u in space.uses} == {"size", "flag"}  # both count as used


def test_expressions_resolve_per_point_and_per_repetition() -> None:
    spec = _spec(
        [
            {
                "type": "repeat",
                "times": 2,
                "shared": ["flag"],
                "layers": [{"type": "Dense", "units": "units // 2 + i0", "use_bias": "not flag"}],
            }
        ],
        {
            "units": {"type": "int", "min": 8, "max": 64},
            "i0": {"type": "int", "min": 0, "max": 1},
            "flag": {"type": "boolean"},
        },
    )
    point = {"units_1": 64, "units_2": 16, "i0_1": 1, "i0_2": 0, "flag": True}
    first, second = unroll(spec.model.layers, point)
    assert (first.args["units"], second.args["units"]) == (33, 8)
    assert first.args["use_bias"] is False
    # a name the point lacks (inactive, or not sampled yet) leaves the value unknown
    assert unroll(spec.model.layers, {"units_1": 64})[0].args["units"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty string"),
        ("x" * (MAX_EXPRESSION + 1), "at most"),
        ("$", "not a valid reference"),
    ],
)
def test_unreadable_expressions_are_refused_as_they_are_read(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _spec([{"type": "Dense", "units": value}], {})


def test_a_padding_pair_has_two_sides() -> None:
    with pytest.raises(ValidationError, match="a pair"):
        _spec([{"type": "ZeroPadding2D", "padding": [[1, 2, 3], 1]}], {})
    with pytest.raises(ValidationError):  # pairs only where both sides can differ
        _spec([{"type": "UpSampling2D", "size": [[1, 2], 1]}], {})


def test_text_arguments_stay_names() -> None:
    """An activation's string is a name, never an expression."""
    spec = _spec([{"type": "Dense", "units": 4, "activation": "relu"}], {})
    assert spec.model.layers[0].activation == "relu"  # type: ignore[union-attr]


def test_a_computed_repeat_count_ties_each_repetition_to_the_values_it_reads() -> None:
    """`times: "num_layers - 2"`: repetition k is active where num_layers - 2 >= k, in Keras
    Tuner's terms a condition on num_layers; the model unrolls that many."""
    spec = _spec(
        [
            {"type": "repeat", "times": "num_layers - 2", "layers": [{"type": "Dense", "units": "$units"}]},
            {"type": "Dense", "units": 1},
        ],
        {"num_layers": {"type": "int", "min": 2, "max": 5}, "units": {"type": "int", "min": 4, "max": 8}},
    )
    space = build_space(spec)
    assert space.problems == []
    assert sorted(n for n in space.params if n.startswith("units")) == ["units_1", "units_2", "units_3"]
    (cond,) = space.params["units_2"].conditions
    assert (cond.parent, cond.values) == ("num_layers", (4, 5))
    assert len(unroll(spec.model.layers, {"num_layers": 4, "units_1": 4, "units_2": 5})) == 3
    assert len(unroll(spec.model.layers, {"num_layers": 2})) == 1


def test_a_repeat_count_reads_at_most_one_hyperparameter() -> None:
    spec = _spec(
        [{"type": "repeat", "times": "a + b", "layers": [{"type": "Dense", "units": 4}]}],
        {"a": {"type": "int", "min": 1, "max": 2}, "b": {"type": "int", "min": 1, "max": 2}},
    )
    (problem,) = build_space(spec).problems
    assert (problem.code, problem.key) == ("arg-expression-invalid", "model.layers.0.times")
    assert "reads a, b" in problem.message
