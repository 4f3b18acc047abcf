"""Dependent bounds: the widest range Keras Tuner registers, the constraint it implies, and what
the checks say about a bound that cannot work."""

from __future__ import annotations

import itertools
import random

import pytest

from ktrun.analysis.values import literal_range, values
from ktrun.checks import constraints, hyperparameters, references
from ktrun.checks.context import Ctx
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.hyperparameters import BoundExpr, IntHp


def ctx(hps: dict[str, dict[str, object]], layers: list[dict[str, object]], **extra: object) -> Ctx:
    spec = ExperimentSpec.model_validate(
        {
            "experiment": {"name": "t"},
            "hyperparameters": hps,
            "model": {"input_shape": [8], "layers": layers},
            **extra,
        }
    )
    return Ctx(spec)


def dense(*refs: str) -> list[dict[str, object]]:
    return [{"type": "Dense", "units": f"${r}"} for r in refs]


def problems(c: Ctx) -> list[tuple[str, str, str]]:
    """What the checks of declarations, references and constraints say (not the data's)."""
    checks = (hyperparameters.check_declarations, references.check_references, constraints.check_constraints)
    return [(p.code, p.key, p.hint) for check in checks for p in check(c)]


WIDTHS = {
    "units_1": {"type": "int", "min": 32, "max": 128, "step": 32},
    "units_2": {"type": "int", "min": 16, "max": "$units_1", "step": 16},
    "half": {"type": "int", "min": 8, "max": "units_1 // 2", "step": 8},
}


def test_a_bound_is_a_reference_or_an_expression_and_round_trips() -> None:
    decl = IntHp.model_validate({"type": "int", "min": 16, "max": "$units_1", "step": 16})
    assert decl.max == BoundExpr("$units_1")
    assert decl.model_dump(mode="json")["max"] == "$units_1"
    with pytest.raises(ValueError, match="an expression like"):
        IntHp.model_validate({"type": "int", "min": 1.5, "max": 3})


def test_a_dependent_bound_compiles_to_its_widest_range_and_an_implied_constraint() -> None:
    c = ctx(WIDTHS, dense("units_1", "units_2", "half"))
    params = c.space.params
    assert literal_range(params["units_2"].decl) == (16, 128)  # max of units_1
    assert literal_range(params["half"].decl) == (8, 64)  # max of units_1 // 2
    assert [t for _, t in c.space.implied] == ["units_2 <= units_1", "half <= units_1 // 2"]
    assert problems(c) == []


def test_the_feasible_fraction_counts_exactly_the_points_inside_each_bound() -> None:
    c = ctx(WIDTHS, dense("units_1", "units_2", "half"))
    feas = c.feasibility
    units_2 = values(c.space.params["units_2"].decl) or ()
    half = values(c.space.params["half"].decl) or ()
    grid = list(itertools.product([32, 64, 96, 128], units_2, half))
    inside = [g for g in grid if g[1] <= g[0] and g[2] <= g[0] // 2]
    assert feas.exact and feas.total_points == len(grid)
    assert feas.fraction == pytest.approx(len(inside) / len(grid))


def test_every_point_the_checker_accepts_satisfies_the_bound() -> None:
    c = ctx(WIDTHS, dense("units_1", "units_2", "half"))
    rng = random.Random(1)
    accepted = 0
    for _ in range(300):
        point = c.space.sample(rng)
        if c.checker.violations(point):
            assert point["units_2"] > point["units_1"] or point["half"] > point["units_1"] // 2
            continue
        accepted += 1
        assert point["units_2"] <= point["units_1"] and point["half"] <= point["units_1"] // 2
    assert 50 < accepted < 300


def test_i_is_the_repetition_so_each_instance_has_its_own_static_range() -> None:
    """`hp.Int(f"units_{i}", 1 + i, 3 + i)` for i from 0: ktrun counts repetitions from 1."""
    c = ctx(
        {"n": {"type": "int", "min": 1, "max": 3}, "units": {"type": "int", "min": "i", "max": "i + 2"}},
        [{"type": "repeat", "times": "$n", "layers": dense("units")}],
    )
    ranges = {n: literal_range(c.space.params[n].decl) for n in ("units_1", "units_2", "units_3")}
    assert ranges == {"units_1": (1, 3), "units_2": (2, 4), "units_3": (3, 5)}
    assert c.space.implied == []  # nothing but `i` and numbers: static, nothing to enforce
    assert literal_range(c.space.declared["units"]) == (1, 5)  # the summary's row


def test_a_base_name_in_a_repeat_block_reads_its_own_repetition() -> None:
    c = ctx(
        {
            "n": {"type": "int", "min": 1, "max": 2},
            "width": {"type": "choice", "values": [8, 16]},
            "bottleneck": {"type": "int", "min": 4, "max": "width // 2", "step": 4},
        },
        [{"type": "repeat", "times": "$n", "layers": dense("width", "bottleneck")}],
    )
    assert sorted(t for _, t in c.space.implied) == [
        "bottleneck_1 <= width_1 // 2",
        "bottleneck_2 <= width_2 // 2",
    ]
    assert literal_range(c.space.params["bottleneck_2"].decl) == (4, 8)
    assert problems(c) == []


def test_a_hyperparameter_read_only_by_a_bound_is_used_and_active_where_the_bound_is() -> None:
    """`cap` feeds no layer: the bound is its use. `wide` is built only when `big`, but a bound
    reads it whenever `units` is active, so it is active then too (no frozen, missing value)."""
    c = ctx(
        {
            "cap": {"type": "choice", "values": [32, 64]},
            "big": {"type": "boolean"},
            "wide": {"type": "int", "min": 64, "max": 128, "step": 64},
            "units": {"type": "int", "min": 8, "max": "min(cap, wide)", "step": 8},
        },
        [*dense("units"), {"type": "Dense", "units": "$wide", "when": {"big": [True]}}],
    )
    assert problems(c) == []
    assert c.space.params["wide"].conditions == ()
    assert literal_range(c.space.params["units"].decl) == (8, 64)


@pytest.mark.parametrize(
    ("hps", "layers", "code", "key", "hint"),
    [
        (
            {"a": {"type": "int", "min": 1, "max": "a +"}},
            dense("a"),
            "bound-syntax",
            "hyperparameters.a.max",
            "`$units_1`",
        ),
        (
            {"a": {"type": "int", "min": 1, "max": "$b"}, "b": {"type": "int", "min": "$a", "max": 9}},
            dense("a", "b"),
            "bound-cycle",
            "hyperparameters.b.min",
            "write one side as a number",
        ),
        (
            {"a": {"type": "int", "min": 1, "max": 8}, "b": {"type": "int", "min": 1, "max": "a / 2"}},
            dense("a", "b"),
            "bound-type-error",
            "hyperparameters.b.max",
            "`//`",
        ),
        (
            {"a": {"type": "choice", "values": ["x", "y"]}, "b": {"type": "float", "min": 0.0, "max": "$a"}},
            [{"type": "Dense", "units": 4, "activation": "$a"}, {"type": "Dropout", "rate": "$b"}],
            "bound-type-error",
            "hyperparameters.b.max",
            "numeric hyperparameters",
        ),
        (
            {"a": {"type": "int", "min": 1, "max": 8}, "b": {"type": "int", "min": "a + 10", "max": 9}},
            dense("a", "b"),
            "bound-range-empty",
            "hyperparameters.b.min",
            "widen the range",
        ),
        (
            {"a": {"type": "int", "min": 1, "max": "i + 1"}},
            dense("a"),
            "bound-index-outside-repeat",
            "hyperparameters.a.max",
            "repetition",
        ),
        (
            {"a": {"type": "int", "min": 1, "max": "$nope"}},
            dense("a"),
            "unknown-reference",
            "hyperparameters.a.max",
            "declared",
        ),
        (
            {
                "on": {"type": "boolean"},
                "a": {"type": "int", "min": 1, "max": 8, "when": {"on": True}},
                "b": {"type": "int", "min": 1, "max": "$a"},
            },
            dense("b"),
            "bound-inactive-reference",
            "hyperparameters.b.max",
            "same `when:`",
        ),
    ],
)
def test_each_bad_bound_is_reported_at_its_key_with_a_fix(
    hps: dict[str, dict[str, object]], layers: list[dict[str, object]], code: str, key: str, hint: str
) -> None:
    found = [(k, h) for c, k, h in problems(ctx(hps, layers)) if c == code]
    assert found, problems(ctx(hps, layers))
    assert found[0][0] == key and hint in found[0][1]


def test_a_range_empty_only_for_some_points_is_not_an_error_those_points_are_infeasible() -> None:
    c = ctx(
        {"a": {"type": "int", "min": 1, "max": 8}, "b": {"type": "int", "min": "a + 4", "max": 10}},
        dense("a", "b"),
    )
    assert problems(c) == []
    assert literal_range(c.space.params["b"].decl) == (5, 10)
    assert c.checker.violations({"a": 8, "b": 10}) == ["b >= a + 4"]


def test_one_bad_side_is_reported_and_the_other_does_not_crash_the_analysis() -> None:
    c = ctx(
        {"a": {"type": "int", "min": 1, "max": 8}, "b": {"type": "int", "min": "a +", "max": "a * 2"}},
        dense("a", "b"),
    )
    assert [code for code, _, _ in problems(c)] == ["bound-syntax"]
    assert c.feasibility.fraction > 0


def test_a_default_outside_one_repetition_s_own_range_is_an_error_before_keras_tuner_sees_it() -> None:
    """units_2 is registered as 2..4: Keras Tuner would refuse default 1 at search start."""
    c = ctx(
        {
            "n": {"type": "int", "min": 1, "max": 2},
            "units": {"type": "int", "min": "i", "max": "i + 2", "default": 1},
        },
        [{"type": "repeat", "times": "$n", "layers": dense("units")}],
    )
    [(code, key, hint)] = problems(c)
    assert (code, key) == ("hp-default-invalid", "hyperparameters.units.default") and "2, 3, 4" in hint


def test_a_repetition_bounded_by_its_own_first_instance_is_told_why_that_cannot_work() -> None:
    c = ctx(
        {"n": {"type": "int", "min": 1, "max": 2}, "units": {"type": "int", "min": 8, "max": "$units_1"}},
        [{"type": "repeat", "times": "$n", "layers": dense("units")}],
    )
    found = [p for check in (references.check_references,) for p in check(c) if p.code == "bound-cycle"]
    assert [p.message for p in found] == ["the max of `units` reads `units_1`, which is `units` itself there"]
