"""The expanded space: values, repeat instances, conditions, enumeration."""

from __future__ import annotations

import random

import pytest

from ktrun.analysis.space import build_space
from ktrun.analysis.unroll import unroll
from ktrun.analysis.values import cardinality, sample, values
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
