"""Graphs: what layers read, merges, residual blocks, attention, several inputs and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.analysis.shapes import infer
from ktrun.analysis.unroll import output_nodes, unroll
from ktrun.checks.context import Ctx
from ktrun.data.load import load_dataset
from ktrun.data.named import arrays_of
from ktrun.data.raw import DataError
from ktrun.spec.experiment import ExperimentSpec


def spec_of(model: dict[str, Any], **rest: Any) -> ExperimentSpec:
    return ExperimentSpec.model_validate({"experiment": {"name": "t"}, "model": model, **rest})


def test_a_layer_reads_the_one_before_it_unless_it_names_others() -> None:
    spec = spec_of(
        {
            "layers": [
                {"type": "Flatten", "name": "flat"},
                {"type": "Dense", "units": 4},
                {"type": "Dense", "name": "side", "inputs": ["flat"], "units": 6},
                {"type": "Concatenate", "inputs": ["flat", "side"]},
            ]
        }
    )
    layers = unroll(spec.model.layers, {})
    assert [c.inputs for c in layers] == [("input",), ("flat",), ("flat",), ("flat", "side")]
    trace = infer((2, 3), layers)
    assert trace.failure is None and trace.output == (12,)
    assert trace.describe().endswith("Dense ← flat (6,) → Concatenate ← flat, side (12,)")
    assert output_nodes(layers, []) == [layers[-1].node]


def test_residual_repeat_adds_each_repetitions_input_to_its_output() -> None:
    spec = spec_of(
        {
            "layers": [
                {"type": "Dense", "units": 8},
                {
                    "type": "repeat",
                    "times": 2,
                    "residual": True,
                    "layers": [{"type": "Dense", "name": "inner", "units": 8}],
                },
            ]
        }
    )
    layers = unroll(spec.model.layers, {})
    adds = [c for c in layers if c.path[-1] == "residual"]
    assert [c.inputs for c in adds] == [("#0", "inner_1"), (adds[0].node, "inner_2")]
    assert infer((3,), layers).failure is None


def test_a_named_layer_inside_a_repeat_is_this_repetitions_and_after_it_the_last() -> None:
    spec = spec_of(
        {
            "layers": [
                {
                    "type": "repeat",
                    "times": 3,
                    "layers": [
                        {"type": "Dense", "name": "a", "units": 4},
                        {"type": "Dense", "units": 4},
                        {"type": "Add", "inputs": ["a", "a"]},
                    ],
                },
                {"type": "Dense", "inputs": ["a"], "units": 2},
            ]
        }
    )
    layers = unroll(spec.model.layers, {})
    assert [c.inputs for c in layers if c.layer.type == "Add"] == [
        ("a_1", "a_1"),
        ("a_2", "a_2"),
        ("a_3", "a_3"),
    ]
    assert layers[-1].inputs == ("a_3",)


@pytest.mark.parametrize(
    ("shapes", "code"),
    [(((4, 3), (4, 5)), "merge-shape-mismatch"), (((4, 3), (3,)), "merge-shape-mismatch")],
)
def test_add_refuses_shapes_that_do_not_combine(shapes: tuple[tuple[int, ...], ...], code: str) -> None:
    spec = spec_of({"layers": [{"type": "Add", "inputs": ["x", "y"]}]})
    trace = infer(
        shapes[0], unroll(spec.model.layers, {}, inputs=("x", "y")), {"x": shapes[0], "y": shapes[1]}
    )
    assert trace.failure is not None and trace.failure.code == code


def test_concatenate_joins_one_axis_and_needs_the_others_equal() -> None:
    spec = spec_of({"layers": [{"type": "Concatenate", "axis": 1, "inputs": ["x", "y"]}]})
    layers = unroll(spec.model.layers, {}, inputs=("x", "y"))
    assert infer((4, 3), layers, {"x": (4, 3), "y": (4, 3)}).output == (4, 6)
    bad = infer((4, 3), layers, {"x": (4, 3), "y": (5, 3)}).failure
    assert bad is not None and bad.code == "merge-shape-mismatch" and "axis 1" in bad.message


def test_attention_over_itself_and_over_another_sequence() -> None:
    spec = spec_of({"layers": [{"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4}]})
    assert infer((6, 5), unroll(spec.model.layers, {})).output == (6, 5)
    flat = infer((5,), unroll(spec.model.layers, {})).failure
    assert flat is not None and flat.code == "rank-mismatch" and "return_sequences" in flat.hint


def test_a_branch_switched_off_by_when_fails_only_those_points() -> None:
    spec = spec_of(
        {
            "layers": [
                {"type": "Dense", "name": "a", "units": 4},
                {"type": "Dense", "name": "b", "units": 4, "when": {"on": [True]}},
                {"type": "Add", "inputs": ["a", "b"]},
            ]
        },
        hyperparameters={"on": {"type": "boolean"}},
    )
    on = infer((3,), unroll(spec.model.layers, {"on": True}))
    off = infer((3,), unroll(spec.model.layers, {"on": False}))
    assert on.failure is None
    assert off.failure is not None and off.failure.code == "layer-input-missing"
    assert off.failure.path == ("model", "layers", 2, "inputs")


def test_several_outputs_are_logged_under_their_names() -> None:
    spec = spec_of(
        {
            "layers": [
                {"type": "Dense", "name": "price", "units": 1},
                {"type": "Dense", "name": "kind", "inputs": ["input"], "units": 3, "activation": "softmax"},
            ],
            "outputs": [{"layer": "price", "loss": "mse", "metrics": ["mae"]}, "kind"],
        }
    )
    logged = Ctx(spec).logged
    assert logged["val_price_mae"] == "min" and logged["val_kind_accuracy"] == "max"
    assert "val_accuracy" not in logged and "kind_loss" in logged


def _shop(path: Path, rows: int = 40, meta_rows: int | None = None) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        path,
        image=rng.random((rows, 4, 4, 1)).astype("float32") * 255,
        meta=rng.random((meta_rows or rows, 3)).astype("float32") * 10,
        kind=rng.integers(0, 3, rows),
        price=rng.random(rows).astype("float32"),
    )


_SHOP_MODEL: dict[str, Any] = {
    "inputs": {"image": {}, "meta": {}},
    "layers": [
        {"type": "Flatten", "inputs": ["image"], "name": "flat"},
        {"type": "Concatenate", "inputs": ["flat", "meta"]},
        {"type": "Dense", "name": "kind", "units": 3, "activation": "softmax"},
        {"type": "Dense", "name": "price", "inputs": ["flat"], "units": 1},
    ],
    "outputs": [{"layer": "kind"}, {"layer": "price", "loss": "mse"}],
}


def test_named_arrays_are_split_together_and_each_input_normalised_on_its_training_rows(
    tmp_path: Path,
) -> None:
    _shop(tmp_path / "shop.npz")
    spec = spec_of(_SHOP_MODEL, data={"source": "npz", "path": str(tmp_path / "shop.npz"), "num_classes": 3})
    data = load_dataset(spec.data, (4, 4, 1), 3, 0, arrays=arrays_of(spec.model))
    x, y, x_val = data.inputs(), data.targets(), data.inputs(validation=True)
    assert isinstance(x, dict) and isinstance(y, dict) and isinstance(x_val, dict)
    assert list(x) == ["image", "meta"] and list(y) == ["kind", "price"]
    assert {len(a) for a in x.values()} == {32} and {len(a) for a in y.values() if a is not None} == {32}
    assert float(np.abs(x["meta"]).max()) == pytest.approx(1.0)  # scaled by its own training maximum
    assert y["kind"].dtype == np.int64 and y["price"].dtype == np.float32
    meta_val = x_val["meta"]
    assert meta_val is not None and len(meta_val) == 8


def test_named_arrays_with_other_row_counts_are_refused(tmp_path: Path) -> None:
    _shop(tmp_path / "shop.npz", meta_rows=39)
    spec = spec_of(_SHOP_MODEL, data={"source": "npz", "path": str(tmp_path / "shop.npz"), "num_classes": 3})
    assert Ctx(spec).data.problems[0].code == "data-length-mismatch"
    with pytest.raises(DataError) as e:
        load_dataset(spec.data, (4, 4, 1), 3, 0, arrays=arrays_of(spec.model))
    assert e.value.problems[0].path == ("model", "inputs", "meta", "array")


def test_check_reads_each_inputs_shape_from_its_array(tmp_path: Path) -> None:
    _shop(tmp_path / "shop.npz")
    spec = spec_of(_SHOP_MODEL, data={"source": "npz", "path": str(tmp_path / "shop.npz"), "num_classes": 3})
    ctx = Ctx(spec)
    assert ctx.input_shapes == {"image": (4, 4, 1), "meta": (3,)}
    assert ctx.feasibility.reference_trace is not None
    assert ctx.feasibility.reference_trace.shapes["flat"] == (16,)
    from ktrun.render.space_summary import _data

    assert _data(ctx).startswith("inputs image (4, 4, 1), meta (3,); ")


def test_each_named_output_is_checked_against_its_own_array(tmp_path: Path) -> None:
    _shop(tmp_path / "shop.npz")
    model = {**_SHOP_MODEL, "layers": [*_SHOP_MODEL["layers"][:3], {**_SHOP_MODEL["layers"][3], "units": 2}]}
    spec = spec_of(model, data={"source": "npz", "path": str(tmp_path / "shop.npz"), "num_classes": 3})
    (problem,) = [p for p in _problems(spec) if p.code == "output-shape-mismatch"]
    assert problem.path == ("model", "layers", 3)
    assert "output `price` is (2,) per sample" in problem.message and "'price' holds ()" in problem.message
    assert problem.hint == "set units: 1 on `price`"
    assert not [
        p
        for p in _problems(spec_of(_SHOP_MODEL, data=spec.data.model_dump()))
        if p.code == "output-shape-mismatch"
    ]


def _problems(spec: ExperimentSpec) -> list[Any]:
    from ktrun.checks.graph import check_graph

    return list(check_graph(Ctx(spec)))


def test_named_inputs_with_one_unnamed_output_are_checked_as_a_plain_model(tmp_path: Path) -> None:
    _shop(tmp_path / "shop.npz")
    model = {**_SHOP_MODEL, "outputs": [], "layers": _SHOP_MODEL["layers"][:3]}
    data = {"source": "npz", "path": str(tmp_path / "shop.npz"), "num_classes": 3, "y_key": "kind"}
    assert _problems(spec_of(model, data=data)) == []


def test_reading_a_repeat_block_by_its_name_says_it_is_not_a_layer() -> None:
    spec = spec_of(
        {
            "layers": [
                {"type": "repeat", "name": "blocks", "times": 2, "layers": [{"type": "Dense", "units": 4}]},
                {"type": "Dense", "inputs": ["blocks"], "units": 2},
            ]
        }
    )
    (problem,) = [p for p in _problems(spec) if p.code == "layer-input-unknown"]
    assert problem.path == ("model", "layers", 1, "inputs", 0)
    assert "repeat block" in problem.message and "last layer a `name:`" in problem.hint


def test_named_arrays_hold_out_the_same_test_rows(tmp_path: Path) -> None:
    """data.test_split on a model with several inputs and outputs: every array loses the same rows."""
    _shop(tmp_path / "shop.npz")
    data_spec = {"source": "npz", "path": str(tmp_path / "shop.npz"), "num_classes": 3, "test_split": 0.25}
    spec = spec_of(_SHOP_MODEL, data=data_spec)
    data = load_dataset(spec.data, (4, 4, 1), 3, 0, arrays=arrays_of(spec.model))
    x, x_test, y_test = data.inputs(), data.test_inputs(), data.test_targets()
    assert isinstance(x, dict) and isinstance(x_test, dict) and isinstance(y_test, dict)
    assert list(x_test) == ["image", "meta"] and list(y_test) == ["kind", "price"]
    assert {len(a) for a in (*x_test.values(), *y_test.values())} == {10}  # 40 rows: 10 test
    assert {len(a) for a in x.values()} == {24}  # then 30 rows: 6 validation, 24 training
    raw = np.load(tmp_path / "shop.npz")
    # the rows are the same rows in every array: find each test price's row, compare its kind
    rows = [int(np.flatnonzero(raw["price"] == p)[0]) for p in y_test["price"]]
    assert raw["kind"][rows].tolist() == y_test["kind"].tolist()
