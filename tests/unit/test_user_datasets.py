"""Your loader's `tf.data` datasets as the run streams them: split sizes, what is read before the
search, and the batches a trial gets (x normalised, the target x itself for reconstruction)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ktrun.data.load import load_dataset
from ktrun.data.stream import StreamedDataset
from ktrun.spec.experiment import DataSpec

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.keras


def load(
    returned: Any, shape: tuple[int, ...] = (3,), classes: int | None = 2, balanced: bool = False, **data: Any
) -> StreamedDataset:
    from ktrun.runtime.datasets import TfDatasets

    spec = DataSpec(source="custom", loader="mine", input_shape=list(shape), **data)
    found = load_dataset(
        spec, shape, classes, 0, user_loader=lambda: returned, datasets=TfDatasets(), balanced=balanced
    )
    assert isinstance(found, StreamedDataset)
    return found


def batches(found: StreamedDataset, size: int = 100) -> list[tuple[Any, Any]]:
    from ktrun.runtime import streams

    return [(x.numpy(), y.numpy()) for x, y in streams.pipeline(found.train, found, size)]


def test_reconstruction_takes_x_alone_and_trains_against_it_normalised() -> None:
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    found = load(
        tf.data.Dataset.from_tensor_slices(x), task="reconstruction", normalize="scale", classes=None
    )
    assert found.counts() == (8, 2, 0) and found.reconstructs
    ((xs, ys),) = batches(found)
    np.testing.assert_allclose(xs, x[:8] / 23.0, rtol=1e-6)  # scaled by the training rows' peak
    np.testing.assert_array_equal(xs, ys)


def test_a_batched_dataset_is_counted_split_in_order_and_limited() -> None:
    x = np.arange(60, dtype=np.float32).reshape(20, 3)
    y = np.arange(20) % 2
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(6)  # 4 batches, the last of 2
    found = load(ds, limit=15, validation_split=0.2, normalize="none")
    assert found.counts() == (12, 3, 0)
    ((xs, ys),) = batches(found)
    np.testing.assert_array_equal(xs, x[:12])  # its own order: the first rows train
    np.testing.assert_array_equal(ys, y[:12])


def test_class_ids_without_num_classes_are_counted_and_weighted() -> None:
    x = np.zeros((12, 3), np.float32)
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 1, 2])
    found = load(
        tf.data.Dataset.from_tensor_slices((x, y)),
        classes=None,
        normalize="none",
        balanced=True,
        validation_split=0.25,
    )
    assert found.num_classes == 3  # max id + 1, from the one read of the training split
    assert found.class_counts == ({0: 6, 1: 2, 2: 1}, {0: 1, 1: 1, 2: 1})
    assert found.balanced_weights() == pytest.approx({0: 0.5, 1: 1.5, 2: 3.0})
