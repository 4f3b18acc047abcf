"""Hostile datasets from your own loader (`data.source: custom` returning `tf.data`): keys and
element specs that would flood or paint the terminal, wrong kinds, empty, NaN, huge, failing.

In process: `load_dataset` with the run's own `tf.data` tools must raise one `DataError` with the
problem's code, key and a hint (never a TensorFlow traceback), or stream without reading a sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from ktrun.data.load import DataError, load_dataset
from ktrun.data.stream import StreamedDataset
from ktrun.spec.experiment import DataSpec
from tests.hostile.expect import problem

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.keras

SHAPE = (8, 8, 1)


def pairs(n: int = 20, x: Any = None) -> Any:
    rng = np.random.default_rng(0)
    xs = rng.random((n, *SHAPE)).astype("float32") if x is None else x
    return tf.data.Dataset.from_tensor_slices((xs, rng.integers(0, 4, n)))


def failing() -> Any:
    def gen() -> Iterator[tuple[Any, int]]:
        yield np.zeros(SHAPE, np.float32), 0
        raise OSError("the bucket went away")

    spec = (tf.TensorSpec(SHAPE, tf.float32), tf.TensorSpec((), tf.int64))
    return tf.data.Dataset.from_generator(gen, output_signature=spec)


def load(
    returned: Callable[[], object], input_shape: tuple[int, ...] = SHAPE, **data: Any
) -> StreamedDataset:
    from ktrun.runtime.datasets import TfDatasets

    spec = DataSpec(source="custom", loader="mine", input_shape=list(input_shape), **data)
    found = load_dataset(spec, input_shape, 4, 0, user_loader=returned, datasets=TfDatasets())
    assert isinstance(found, StreamedDataset)
    return found


PAINT = "\x1b[2J\x1b[31m" * 400

CASES: list[tuple[str, Callable[[], object], dict[str, Any], str, str, str]] = [
    (
        "keys that paint and flood",
        lambda: {PAINT: pairs(), 7: pairs(), "train": pairs()},
        {},
        "data-loader-returned",
        "data.loader",
        "'train' and 'validation'",
    ),
    (
        "a dict of arrays",
        lambda: {"train": np.zeros((4, *SHAPE)), "validation": pairs()},
        {},
        "data-loader-returned",
        "data.loader",
        "from_tensor_slices",
    ),
    (
        "ragged x",
        lambda: tf.data.Dataset.from_tensor_slices((tf.ragged.constant([[1.0], [2.0, 3.0]]), [0, 1])),
        {},
        "data-loader-returned",
        "data.loader",
        "(x, y) pairs",
    ),
    (
        "an element nested deep, its spec long",
        lambda: tf.data.Dataset.from_tensor_slices({f"k{i}" * 40: np.zeros((2, 3)) for i in range(60)}),
        {},
        "data-loader-returned",
        "data.loader",
        "(x, y) pairs",
    ),
    (
        "x as strings",
        lambda: tf.data.Dataset.from_tensor_slices((np.array([["a"], ["b"]]), np.array([0, 1]))),
        {"input_shape": (1,)},
        "data-loader-returned",
        "data.loader",
        "to numbers",
    ),
    ("empty", lambda: pairs().take(0), {}, "data-too-small", "data.validation_split", "more rows"),
    (
        "NaN x",
        lambda: pairs(x=np.full((20, *SHAPE), np.nan, np.float32)),
        {"normalize": "standardize"},
        "data-not-finite",
        "data.loader",
        "ds.filter",
    ),
    (
        "a pipeline that fails while read",
        lambda: {"train": failing(), "validation": pairs()},
        {},
        "data-loader-failed",
        "data.loader",
        "iterate it on its own",
    ),
    (
        "a tensor, not a dataset",
        lambda: tf.zeros((3, *SHAPE)),
        {},
        "data-loader-returned",
        "data.loader",
        "(x, y) pairs",
    ),
]


@pytest.mark.parametrize(
    ("returned", "data", "code", "key", "hint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_hostile_dataset_is_one_clear_problem(
    returned: Callable[[], object], data: dict[str, Any], code: str, key: str, hint: str
) -> None:
    with pytest.raises(DataError) as e:
        load(returned, **data)
    problem(e.value.problems, code, key=key, hint=hint)
    for p in e.value.problems:
        assert "\x1b" not in p.message and len(p.message) < 700, p.message


def test_a_huge_dataset_is_split_and_streamed_without_reading_a_sample() -> None:
    """A trillion samples that know their count: split by take/skip, nothing read before the search."""
    huge = tf.data.Dataset.range(10**12).map(lambda i: (tf.zeros(SHAPE), i % 4))
    started = time.monotonic()
    found = load(lambda: huge, normalize="none", test_split=0.1)
    assert time.monotonic() - started < 10
    train, val, test = found.counts()
    assert (train, val, test) == (720_000_000_000, 180_000_000_000, 100_000_000_000)
