"""Weights counted from shapes alone: the range over a search, and what it leaves uncounted."""

from __future__ import annotations

from typing import Any

from ktrun.analysis.feasibility import Checker
from ktrun.analysis.size import size_range, weights
from ktrun.analysis.space import build_space
from ktrun.spec.experiment import ExperimentSpec


def _checker(layers: list[dict[str, Any]], hps: dict[str, Any], shape: tuple[int, ...]) -> Checker:
    spec = ExperimentSpec.model_validate(
        {"experiment": {"name": "t"}, "hyperparameters": hps, "model": {"layers": layers}}
    )
    return Checker(spec, build_space(spec), [], {"input": shape})


def test_the_range_spans_the_smallest_and_the_widest_model() -> None:
    """Dense(units) on 20 features, then Dense(1): 21u + u + 1 for u in 8..64, the extremes
    reached (the widest point is always among those counted)."""
    checker = _checker(
        [{"type": "Dense", "units": "$units"}, {"type": "Dense", "units": 1}],
        {"units": {"type": "int", "min": 8, "max": 64}},
        (20,),
    )
    found = size_range(checker)
    assert found is not None
    assert found.largest.total == 22 * 64 + 1 and found.largest.exact
    assert found.largest_point == {"units": 64}
    assert found.smallest.total >= 22 * 8 + 1
    assert found.largest.largest == (("model", "layers", 0), "Dense", 21 * 64)


def test_a_layer_ktrun_cannot_count_is_named_not_guessed() -> None:
    checker = _checker(
        [
            {"type": "Backbone", "application": "MobileNetV2", "weights": None, "pooling": "avg"},
            {"type": "Dense", "units": 2},
        ],
        {},
        (96, 96, 3),
    )
    found = size_range(checker)
    assert found is not None
    assert (found.largest.total, found.largest.exact) == (1280 * 2 + 2, False)
    assert found.largest.uncounted == ("Backbone",)


def test_counts_read_as_people_say_them() -> None:
    assert [weights(n) for n in (999, 25_450, 4_258_570, 134_000_000, 2_500_000_000)] == [
        "999",
        "25.4k",
        "4.26M",
        "134M",
        "2.5G",
    ]
    assert weights(1500, exact=False) == "at least 1.5k"


def test_flops_span_the_search_and_follow_the_convention() -> None:
    """Dense(u) on 20 features then Dense(1): 2·20·u + u, then 2·u + 1 (a multiply-add is 2, a
    bias add 1); a Conv2D's are per output position; a Backbone's are unknown, not zero."""
    checker = _checker(
        [{"type": "Dense", "units": "$units"}, {"type": "Dense", "units": 1}],
        {"units": {"type": "int", "min": 8, "max": 64}},
        (20,),
    )
    found = size_range(checker)
    assert found is not None and found.most_flops is not None and found.fewest_flops is not None
    assert (found.most_flops.total, found.most_flops.exact) == (41 * 64 + 2 * 64 + 1, True)
    assert found.fewest_flops.total >= 43 * 8 + 1
    conv = size_range(_checker([{"type": "Conv2D", "filters": 4, "kernel_size": 3}], {}, (8, 8, 2)))
    assert conv is not None and conv.most_flops is not None
    assert conv.most_flops.total == 6 * 6 * 4 * (2 * 9 * 2 + 1)
    backbone = size_range(
        _checker(
            [
                {"type": "Backbone", "application": "MobileNetV2", "weights": None, "pooling": "avg"},
                {"type": "Dense", "units": 2},
            ],
            {},
            (96, 96, 3),
        )
    )
    assert backbone is not None and backbone.most_flops is not None
    assert (backbone.most_flops.exact, backbone.most_flops.uncounted) == (False, ("Backbone",))
