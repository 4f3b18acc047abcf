"""Data read as it is trained on: image folders, npz shards, and the `tf.data.Dataset` your loader returns.

An in-memory source hands over arrays (`ktrun.data.prepare.Dataset`); a streamed one hands over
what to read: a split's file paths and labels, or a shard's row numbers. The source lists, splits
and validates them here before the first trial, holding one file or shard at a time, and measures
the training rows for `data.normalize`. The run turns each split into a `tf.data` pipeline
(`ktrun.runtime.streams`) that reads a batch at a time, so memory does not grow with the data.
Nothing here imports TensorFlow: the run supplies the image decoder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ktrun.problems import Problem

#: Decodes one image file to float32 (H, W, C) at `data.image_size`, raising on a file it cannot read.
ImageDecoder = Callable[[str], NDArray[np.float32]]


@dataclass(frozen=True, eq=False)
class ImageFiles:
    """One split of an image folder: files decoded and resized as they are read."""

    paths: tuple[str, ...]
    labels: NDArray[np.int64]
    size: tuple[int, int]  # (height, width), data.image_size
    channels: int  # 3 for rgb, 1 for grayscale

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True, eq=False)
class ShardRows:
    """One split of a sharded data set: which rows of each `.npz` shard belong to it."""

    shards: tuple[tuple[str, NDArray[np.intp]], ...]
    x_key: str
    y_key: str | None  # None: reconstruction (the target is x)
    y_shape: tuple[int, ...] = ()  # per sample, as stored
    y_dtype: str = "int64"

    def __len__(self) -> int:
        return sum(len(rows) for _, rows in self.shards)

    def chunks(self, seed: int | None = None) -> Iterator[tuple[NDArray[Any], NDArray[Any]]]:
        """(x, y) one shard at a time, x as float32; with a `seed`, shards and the rows within each
        in a seeded order."""
        rng = np.random.default_rng(seed) if seed is not None else None
        order = rng.permutation(len(self.shards)) if rng is not None else range(len(self.shards))
        for i in order:
            path, rows = self.shards[int(i)]
            if rng is not None:
                rows = rows[rng.permutation(len(rows))]
            with np.load(path, allow_pickle=False) as f:
                x = np.asarray(f[self.x_key])[rows].astype(np.float32)
                y = np.asarray(f[self.y_key])[rows].astype(self.y_dtype) if self.y_key is not None else x
            yield x, y


@dataclass(frozen=True, eq=False)
class UserData:
    """A split your loader returned: a `tf.data.Dataset` of (x, y) samples (Any: no TensorFlow here)."""

    dataset: Any
    rows: int | None  # None: unknown (a dataset of unknown cardinality)

    def __len__(self) -> int:
        return self.rows or 0


Part = ImageFiles | ShardRows | UserData


@dataclass(frozen=True)
class Tensor:
    """One tensor of a dataset's element, as its `element_spec` says (None dims: any size)."""

    shape: tuple[int | None, ...] | None  # None: unknown rank
    dtype: str  # TensorFlow's name: float32, int64, string
    numeric: bool  # an integer, floating or bool dtype


@dataclass(frozen=True)
class Element:
    """What one element of your loader's `tf.data.Dataset` is, and how many there are: read by
    the run from `element_spec` and `cardinality()`, so that nothing here imports TensorFlow."""

    said: str  # the element_spec as TensorFlow prints it, for messages
    #: The tensors of a tuple element ((x, y): two), or the one of a lone tensor; None: something
    #: else (a dict, a nested tuple, a ragged or sparse tensor).
    tensors: tuple[Tensor, ...] | None
    rows: int | None  # None: unknown or infinite
    infinite: bool = False


class DatasetTools(Protocol):
    """The TensorFlow work on your loader's datasets, supplied by the run (`ktrun.runtime.datasets`)."""

    def element(self, dataset: object) -> Element | None:
        """The dataset's element and size; None: `dataset` is not a `tf.data.Dataset`."""

    def unbatched(self, dataset: Any) -> Any:
        """A batched dataset as samples."""

    def part(self, dataset: Any, start: int, stop: int | None) -> Any:
        """Elements start..stop (None: to the end), in the dataset's own order."""

    def count(self, dataset: Any) -> int:
        """Its elements, counted by reading it once (a dataset that does not know its size)."""

    def arrays(self, dataset: Any, batch: int) -> Iterator[tuple[NDArray[Any], ...]]:
        """The dataset's elements, `batch` at a time, as numpy arrays (one per tensor)."""


@dataclass
class Moments:
    """Per-feature count, mean, sum of squared deviations and peak of the training rows, merged a
    batch at a time (Chan et al.'s pairwise update), for `data.normalize` without holding the rows."""

    n: int = 0
    mean: NDArray[np.float64] | None = None
    m2: NDArray[np.float64] | None = None
    peak: float = 0.0

    def add(self, x: NDArray[Any]) -> None:
        if len(x) == 0:
            return
        x64 = x.astype(np.float64)
        k, mean = len(x64), x64.mean(axis=0)
        m2 = ((x64 - mean) ** 2).sum(axis=0)
        self.peak = max(self.peak, float(np.abs(x64).max()))
        if self.mean is None or self.m2 is None:
            self.n, self.mean, self.m2 = k, mean, m2
            return
        total = self.n + k
        delta = mean - self.mean
        self.mean = self.mean + delta * (k / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.n * k / total)
        self.n = total

    def affine(self, how: str) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
        """(scale, shift) so that `x * scale + shift` is `data.normalize` of x, as the in-memory
        preparation computes it (`prepare._normalize`); None for `none`."""
        if how == "none" or self.mean is None or self.m2 is None:
            return None
        if how == "scale":
            factor = self.peak if self.peak > 0 else 1.0
            scale = np.full(self.mean.shape, 1.0 / factor, dtype=np.float32)
            return scale, np.zeros(self.mean.shape, dtype=np.float32)
        std = np.sqrt(self.m2 / self.n)
        std = np.where(std <= np.finfo(np.float32).eps * np.maximum(1.0, np.abs(self.mean)), 1.0, std)
        return (1.0 / std).astype(np.float32), (-self.mean / std).astype(np.float32)


@dataclass(frozen=True, eq=False)
class StreamedDataset:
    """What the search needs from a streamed source: the splits to read, validated, and how to
    normalise what is read. It answers the run's questions as `prepare.Dataset` does."""

    train: Part
    validation: Part | None
    input_shape: tuple[int, ...]
    num_classes: int | None
    source: str
    test: Part | None = None
    test_source: str = ""
    #: `x * scale + shift` is `data.normalize` of x, from the training rows; None: as read.
    affine: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None
    #: Training and validation rows per class id (one class id per sample), for
    #: `fit.class_weight: balanced`.
    class_counts: tuple[dict[int, int], dict[int, int]] = ({}, {})
    warnings: tuple[Problem, ...] = ()
    #: `data.task: reconstruction`: the target is x, normalised alike.
    reconstructs: bool = False
    #: `data.labels: one_hot` over this many classes: the class ids read are made one-hot rows.
    one_hot: int | None = None
    folds: None = None  # cross-validation needs rows in memory (`check` refuses it)
    named: None = None

    def inputs(self, validation: bool = False) -> Part | None:
        return self.validation if validation else self.train

    def targets(self, validation: bool = False) -> None:
        """The targets travel with the inputs."""
        return None

    def test_inputs(self) -> Part | None:
        return self.test

    def test_targets(self) -> None:
        return None

    @property
    def has_validation(self) -> bool:
        return self.validation is not None

    def counts(self) -> tuple[int, int, int]:
        """Rows in the training, validation and test splits (0 for one that is absent or of unknown size)."""
        train, val, test = (len(p) if p is not None else 0 for p in (self.train, self.validation, self.test))
        return train, val, test

    def balanced_weights(self, with_validation: bool = False) -> dict[int, float]:
        """`fit.class_weight: balanced` from the training rows' class counts, with the validation
        rows' for the final stage (as `prepare.balanced_class_weights` computes it)."""
        train, val = self.class_counts
        counts = {c: n + (val.get(c, 0) if with_validation else 0) for c, n in train.items()}
        if with_validation:
            counts |= {c: n for c, n in val.items() if c not in train}
        total, k = sum(counts.values()), len(counts)
        return {c: total / (k * n) for c, n in sorted(counts.items()) if n}
