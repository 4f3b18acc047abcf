"""The expanded space: values, repeat instances, conditions, enumeration."""

from __future__ import annotations

import math
import random

import pytest

from ktrun.analysis.space import build_space
from ktrun.analysis.unroll import unroll
from ktrun.analysis.values import (
    cardinality,
    exact_value,
    keras_tuner_value,
    matching,
    sample,
    values,
)
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.hyperparameters import ChoiceHp, FloatHp, IntHp


def spec(
    hps: dict[str, dict[str, object]], layers: list[dict[str, object]], **extra: object
) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "hyperparameters": hps, "model": {"layers": layers}, **extra}
    )


@pytest.mark.parametrize(
    ("decl", "expected"),
    [
        (IntHp(type="int", min=32, max=256, step=32), [32, 64, 96, 128, 160, 192, 224, 256]),
        (IntHp(type="int", min=6, max=13, step=3), [6, 9, 12]),
        (IntHp(type="int", min=2, max=32, step=2, sampling="log"), [2, 4, 8, 16, 32]),
        (IntHp(type="int", min=1, max=3), [1, 2, 3]),
        (FloatHp(type="float", min=0.0, max=0.5, step=0.1), [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        (ChoiceHp(type="choice", values=[3, 5, 7]), [3, 5, 7]),
    ],
)
def test_values_follow_keras_tuner(decl: IntHp | FloatHp | ChoiceHp, expected: list[float]) -> None:
    got = values(decl)
    assert got is not None
    assert list(got) == pytest.approx(expected)
    assert cardinality(decl) == len(expected)


@pytest.mark.parametrize(
    ("decl", "typed"),
    [
        (FloatHp(type="float", min=0.0, max=0.5, step=0.1), [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        (FloatHp(type="float", min=0.1, max=0.7, step=0.2), [0.1, 0.3, 0.5, 0.7]),
        (FloatHp(type="float", min=0.001, max=0.1, step=10, sampling="log"), [0.001, 0.01, 0.1]),
        (FloatHp(type="float", min=0.01, max=0.2, step=1.5, sampling="log"), None),
        (FloatHp(type="float", min=0.1, max=0.9, step=2, sampling="reverse_log"), [0.9, 0.8, 0.6, 0.2]),
    ],
)
def test_stepped_floats_are_the_decimals_people_type(decl: FloatHp, typed: list[float] | None) -> None:
    """Issue 15: a grid stepped in float arithmetic gives 0.30000000000000004 for 0.3. ktrun's
    values are exactly the decimals (listed, checked, recorded), and each maps to and from the
    float Keras Tuner itself samples at the same index."""
    got = values(decl)
    assert got is not None
    if typed is not None:
        assert list(got) == typed  # exact, not approx
    assert all(len(repr(v)) <= 12 for v in got), got  # no 0.30000000000000004 anywhere
    lo, step = decl.min, decl.step
    assert isinstance(lo, float) and step is not None
    for i, v in enumerate(got):
        if decl.sampling == "linear":
            kt = lo + i * step  # Keras Tuner's Numerical._get_value_by_index
        elif decl.sampling == "log":
            kt = lo * math.pow(step, i)
        else:
            kt = float(decl.max) + lo - lo * math.pow(step, i)  # type: ignore[arg-type]
        assert keras_tuner_value(decl, v) == kt
        assert exact_value(decl, kt) == v
    assert 0.1 + 2 * 0.1 != 0.3  # the float arithmetic this is all about


def test_a_typed_value_matches_a_listed_one_within_float_rounding() -> None:
    grid = (0.0, 0.1, 0.2, 0.3)
    assert matching(grid, 0.30000000000000004) == 0.3
    assert matching(grid, 0.3) == 0.3
    assert matching(grid, 0.35) is None
    assert matching((0, 1), True) is None and matching((False, True), 1) is None
    assert matching((1, 2), 2.0) == 2
    decl = FloatHp(type="float", min=0.0, max=1.0)  # continuous: nothing to snap to
    assert exact_value(decl, 0.30000000000000004) == 0.30000000000000004


def test_continuous_float_has_no_listed_values() -> None:
    decl = FloatHp(type="float", min=1e-4, max=1e-2, sampling="log")
    assert values(decl) is None and cardinality(decl) is None
    rng = random.Random(0)
    draws = [sample(decl, rng) for _ in range(200)]
    assert all(1e-4 <= d <= 1e-2 for d in draws)
    assert sum(d < 1e-3 for d in draws) > 60  # log scale: half the draws below the geometric mean


def test_repeat_block_instances_and_conditions() -> None:
    s = spec(
        {
            "n": {"type": "int", "min": 1, "max": 3},
            "f": {"type": "int", "min": 8, "max": 16, "step": 8},
            "act": {"type": "choice", "values": ["relu", "tanh"]},
        },
        [
            {
                "type": "repeat",
                "times": "$n",
                "shared": ["act"],
                "layers": [
                    {"type": "Dense", "units": "$f", "activation": "$act"},
                ],
            },
            {"type": "Dense", "units": 10},
        ],
    )
    space = build_space(s)
    assert set(space.params) == {"n", "act", "f_1", "f_2", "f_3"}
    assert space.params["f_1"].conditions == ()
    assert [str(c) for c in space.params["f_2"].conditions] == ["n in [2, 3]"]
    assert [str(c) for c in space.params["f_3"].conditions] == ["n in [3]"]
    assert space.order.index("n") < space.order.index("f_3")
    points = list(space.enumerate(["n", "f_1", "f_2", "f_3"]))
    assert len(points) == 2 + 4 + 8  # n=1: f_1; n=2: f_1,f_2; n=3: all three
    layers = unroll(s.model.layers, {"n": 2, "f_1": 8, "f_2": 16, "act": "relu"})
    assert [(c.layer.type, c.args["units"], c.index) for c in layers] == [
        ("Dense", 8, (1,)),
        ("Dense", 16, (2,)),
        ("Dense", 10, ()),
    ]


def test_hp_condition_and_layer_condition() -> None:
    s = spec(
        {
            "opt": {"type": "choice", "values": ["adam", "sgd"]},
            "mom": {"type": "float", "min": 0.0, "max": 0.9, "step": 0.3, "when": {"opt": "sgd"}},
            "bn": {"type": "boolean"},
            "eps": {"type": "float", "min": 1e-3, "max": 1e-2, "step": 3e-3},
        },
        [
            {"type": "Dense", "units": 4},
            {"type": "BatchNormalization", "epsilon": "$eps", "when": {"bn": True}},
        ],
        **{
            "model": {
                "layers": [
                    {"type": "Dense", "units": 4},
                    {"type": "BatchNormalization", "epsilon": "$eps", "when": {"bn": True}},
                ],
                "compile": {"optimizer": {"name": "$opt", "momentum": "$mom"}},
            }
        },
    )
    space = build_space(s)
    assert [str(c) for c in space.params["mom"].conditions] == ["opt in ['sgd']"]
    assert [str(c) for c in space.params["eps"].conditions] == ["bn in [True]"]
    assert space.is_active("mom", {"opt": "sgd"}) and not space.is_active("mom", {"opt": "adam"})
    layers = unroll(s.model.layers, {"bn": False})
    assert [c.layer.type for c in layers] == ["Dense"]


def test_hp_used_inside_and_outside_a_repeat_is_reported() -> None:
    s = spec(
        {"u": {"type": "int", "min": 1, "max": 4}},
        [
            {"type": "repeat", "times": 2, "layers": [{"type": "Dense", "units": "$u"}]},
            {"type": "Dense", "units": "$u"},
        ],
    )
    assert [p.code for p in build_space(s).problems] == ["hp-mixed-repeat-use"]
