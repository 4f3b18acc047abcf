"""The layer registry: every type complete, an incomplete one refused at import (TF-free)."""

from __future__ import annotations

import importlib
import textwrap
import typing
from pathlib import Path
from typing import Literal

import pytest

from ktrun.analysis.unroll import unroll
from ktrun.layers import LAYER_TYPES, REGISTRY, Layer, Repeat
from ktrun.layers.base import ConcreteLayer, LayerSpec, LayerType, LayerTypeError, build_registry
from ktrun.layers.core import same_shape
from ktrun.layers.shape_math import Shape
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.refs import IntArg


class Conv2DTranspose(LayerSpec):
    """A type someone is adding; the tests below leave out one piece at a time."""

    type: Literal["Conv2DTranspose"]
    filters: IntArg


def _keep(layer: ConcreteLayer, shape: Shape) -> Shape:
    return shape


def test_registry_is_complete_and_drives_the_union() -> None:
    union = typing.get_args(typing.get_args(Layer)[0])
    assert union == (*(t.spec for t in REGISTRY.values()), Repeat)
    for name, kind in REGISTRY.items():
        assert kind.type == name
        assert callable(kind.shape) and callable(kind.kwargs)
        constructions = (kind.keras_class, kind.custom_object, kind.keras_application)
        assert sum(c is not None for c in constructions) == 1, name
    assert set(LAYER_TYPES) == set(REGISTRY) - {"custom"}


def test_type_without_shape_rule_is_refused() -> None:
    with pytest.raises(LayerTypeError, match=r"`Conv2DTranspose` .* needs one shape rule"):
        LayerType(spec=Conv2DTranspose, keras_class="Conv2DTranspose")
    with pytest.raises(LayerTypeError, match=r"`shape=` \(one input\) or `merge=` \(several\)"):
        LayerType(spec=Conv2DTranspose, shape=_keep, merge=lambda layer, shapes: shapes[0])


def test_type_is_built_by_the_keras_class_its_type_names_or_one_construction_given() -> None:
    assert LayerType(spec=Conv2DTranspose, shape=_keep).keras_class == "Conv2DTranspose"
    assert LayerType(spec=Conv2DTranspose, shape=_keep, keras_class="Conv2DT").keras_class == "Conv2DT"
    assert LayerType(spec=Conv2DTranspose, shape=_keep, custom_object=lambda s: "X").keras_class is None
    with pytest.raises(LayerTypeError, match="takes one Keras construction"):
        LayerType(spec=Conv2DTranspose, shape=_keep, keras_class="X", custom_object=lambda s: "X")


def test_type_naming_arguments_its_spec_lacks_is_refused() -> None:
    with pytest.raises(LayerTypeError, match=r"\['kernel_size'\] are not arguments"):
        LayerType(
            spec=Conv2DTranspose, shape=_keep, keras_class="Conv2DTranspose", shape_args=("kernel_size",)
        )
    with pytest.raises(LayerTypeError, match=r"\['return_sequences'\] are not arguments"):
        LayerType(spec=Conv2DTranspose, shape=_keep, sequence_arg="return_sequences")
    with pytest.raises(LayerTypeError, match="size_args must be among its shape_args"):
        LayerType(spec=Conv2DTranspose, shape=_keep, keras_class="Conv2DTranspose", size_args=("filters",))


def test_registering_a_type_twice_or_as_repeat_is_refused() -> None:
    dense = REGISTRY["Dense"]
    with pytest.raises(LayerTypeError, match="registered twice"):
        build_registry([dense, dense])

    class Block(LayerSpec):
        type: Literal["repeat"]

    with pytest.raises(LayerTypeError, match="`repeat` is taken"):
        build_registry([LayerType(spec=Block, shape=same_shape, keras_class="X")], reserved=("repeat",))


def test_incomplete_type_fails_when_its_module_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a family module forgetting `shape=` does: the import itself raises, with the reason."""
    (tmp_path / "ktrun_test_incomplete_family.py").write_text(
        textwrap.dedent(
            """
            from typing import Literal

            from ktrun.layers.base import LayerSpec, LayerType


            class Conv3D(LayerSpec):
                type: Literal["Conv3D"]


            TYPES = (LayerType(spec=Conv3D, keras_class="Conv3D"),)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(LayerTypeError, match=r"`Conv3D` .* needs one shape rule"):
        importlib.import_module("ktrun_test_incomplete_family")


def _concrete(layers: list[dict[str, object]], point: dict[str, object] | None = None) -> list[ConcreteLayer]:
    spec = ExperimentSpec.model_validate({"experiment": {"name": "t"}, "model": {"layers": layers}})
    return unroll(spec.model.layers, point or {})  # type: ignore[arg-type]


def test_keras_construction_is_data() -> None:
    conv, custom = _concrete(
        [
            {"type": "Conv2D", "filters": 4, "kernel_size": [3, 5], "name": "c"},
            {"type": "custom", "layer": "Scaled", "output_shape": [4], "scale": 2.0},
        ]
    )
    assert conv.kind.keras_class == "Conv2D"
    assert conv.kind.kwargs(conv)["kernel_size"] == (3, 5)
    assert custom.kind.keras_class is None and custom.kind.custom_object is not None
    assert custom.kind.custom_object(custom.layer) == "Scaled"
    assert custom.kind.kwargs(custom) == {"scale": 2.0}


def test_keras_names_are_unique_per_repetition() -> None:
    layers = _concrete(
        [{"type": "repeat", "times": 2, "layers": [{"type": "Dense", "units": 3, "name": "d"}]}]
    )
    assert [c.kind.kwargs(c)["name"] for c in layers] == ["d_1", "d_2"]


def test_initializers_and_constraints_are_built_from_their_section_or_their_name() -> None:
    """A section is Keras' `{class_name, config}` (unset keys left to Keras); a name alone, as a
    string or as a section, stays the name."""
    (dense,) = _concrete(
        [
            {
                "type": "Dense",
                "units": 3,
                "kernel_initializer": {"name": "random_normal", "stddev": "$s"},
                "bias_initializer": "zeros",
                "kernel_constraint": {"name": "non_neg"},
                "bias_constraint": {"name": "min_max_norm", "max_value": 2.0, "axis": [0, 1]},
            }
        ],
        {"s": 0.2},
    )
    kwargs = dense.kind.kwargs(dense)
    assert kwargs["kernel_initializer"] == {"class_name": "random_normal", "config": {"stddev": 0.2}}
    assert kwargs["bias_initializer"] == "zeros"
    assert kwargs["kernel_constraint"] == "non_neg"
    assert kwargs["bias_constraint"] == {
        "class_name": "min_max_norm",
        "config": {"max_value": 2.0, "axis": [0, 1]},
    }
    assert dense.refs == ("s",)


def test_every_layer_with_a_kernel_takes_initializers_and_constraints() -> None:
    for name, kind in REGISTRY.items():
        fields = set(kind.spec.model_fields)
        for weights in ("kernel", "recurrent", "depthwise", "pointwise", "embeddings"):
            if f"{weights}_regularizer" in fields:
                assert {f"{weights}_initializer", f"{weights}_constraint"} <= fields, (name, weights)
                assert {f"{weights}_initializer", f"{weights}_constraint"} <= set(kind.domains), name


def test_a_key_the_named_initializer_does_not_take_is_reported_with_those_that_do() -> None:
    from ktrun.pipeline import check_one
    from tests.configs.test_bad_configs import FIXTURES_DIR

    report = check_one(["+experiment=initializer_arg_unused"], extra=[FIXTURES_DIR])
    (problem,) = report.errors
    assert problem.code == "weight-arg-unused"
    assert problem.path == ("model", "layers", 1, "kernel_initializer", "stddev")
    assert (
        problem.message == "Dense.kernel_initializer: the initializer `glorot_uniform` does not take `stddev`"
    )
    assert problem.hint == (
        "glorot_uniform takes seed; `stddev` belongs to random_normal, truncated_normal: remove it, "
        "or let `$init` take only those"
    )
    report = check_one(["+experiment=constraint_unknown"], extra=[FIXTURES_DIR])
    by_code = {p.code: p for p in report.errors}
    assert by_code["unknown-constraint"].path == ("model", "layers", 2, "bias_constraint")
    assert by_code["unknown-constraint"].hint.startswith("did you mean `non_neg`?")
    assert by_code["arg-out-of-range"].path == ("hyperparameters", "norm", "min")
    assert "model.layers.1.kernel_constraint.max_value" in by_code["arg-out-of-range"].message


def test_normalization_statistics_are_keras_arguments_and_adapt_false_is_the_identity() -> None:
    """Given mean and variance go to Keras as they are; `adapt: false` alone is Keras' un-adapted
    layer, mean 0 and variance 1 (given, so the builder's `adapt_layers` passes it by)."""
    given, unadapted, adapted = _concrete(
        [
            {"type": "Normalization", "mean": [1.0, 2.0], "variance": [1.0, 4.0], "invert": True},
            {"type": "Normalization", "adapt": False},
            {"type": "Normalization"},
        ]
    )
    assert given.kind.kwargs(given) == {
        "axis": -1,
        "invert": True,
        "mean": [1.0, 2.0],
        "variance": [1.0, 4.0],
    }
    assert unadapted.kind.kwargs(unadapted) == {"axis": -1, "invert": False, "mean": 0.0, "variance": 1.0}
    assert adapted.kind.kwargs(adapted) == {"axis": -1, "invert": False}


NORMALIZED = (
    "hyperparameters:\n  a: {type: boolean}\n"
    "model:\n  layers:\n    - {type: Normalization, LAYER}\n    - {type: Flatten}\n"
    "    - {type: Dense, units: 10, activation: softmax}\n"
)


@pytest.mark.parametrize(
    ("layer", "code", "key"),
    [
        ("variance: [1.0]", "normalization-stats", "variance"),
        ("mean: [1.0, 2.0], variance: [1.0]", "normalization-stats", "variance"),
        ("mean: 1.0, variance: 2.0, adapt: true", "normalization-stats", "adapt"),
        ("mean: 1.0, variance: 2.0, adapt: $a", "normalization-stats", "adapt"),
        ("mean: 1.0, variance: 0.0", "arg-out-of-range", "variance"),
        ("adapt: $a", "normalization-identity", "adapt"),
    ],
)
def test_normalization_statistics_are_checked(tmp_conf: Path, layer: str, code: str, key: str) -> None:
    from ktrun.pipeline import check_one
    from tests.integration.test_search import write_experiment

    write_experiment(tmp_conf, "norm", NORMALIZED.replace("LAYER", layer))
    report = check_one(["+experiment=norm"], extra=[tmp_conf])
    found = [p for p in report.problems if p.code == code]
    assert found and found[0].path == ("model", "layers", 0, key), report.problems
    assert found[0].hint


def test_normalization_with_statistics_or_adapted_is_clean(tmp_conf: Path) -> None:
    from ktrun.pipeline import check_one
    from tests.integration.test_search import write_experiment

    for layer in ("mean: 1.0, variance: 2.0, invert: true", "mean: [1.0], variance: [2.0]", "adapt: true"):
        write_experiment(
            tmp_conf,
            "norm",
            NORMALIZED.replace("LAYER", layer).replace("a: {type: boolean}", "a: {type: fixed, value: 1}"),
        )
        report = check_one(["+experiment=norm"], extra=[tmp_conf])
        assert not report.errors and not [p for p in report.problems if p.code.startswith("normalization")], (
            report.problems
        )
