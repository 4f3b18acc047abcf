"""`DataSource`: what one `data.source` value must say about its data, to `ktrun check` and to the run.

A source only reads: it returns raw arrays (`load`) and, for check, the per-sample shape and classes
(`known`, `describe`). Shuffling, limits, validation, the split and normalisation are the same for
every source (`ktrun.data.prepare`). Modules here import numpy only inside the functions that read
data, so `ktrun check` on a built-in data set never loads it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError, DataInfo, Raw
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:  # numpy: only when data is read
    from ktrun.data.stream import DatasetTools, ImageDecoder, StreamedDataset

#: `keras.datasets.<name>.load_data` by name: ((x_train, y_train), (x_test, y_test)). The items are
#: typed Any because Keras is untyped; they are passed through `np.asarray`.
KerasLoader = Callable[[str], tuple[tuple[Any, Any], tuple[Any, Any]]]
#: `data.source: custom`'s function, imported by the runtime from `custom_objects.loaders`.
UserLoader = Callable[[], object]
#: An image decoder for ((height, width), channels): the runtime's, so that nothing here imports TensorFlow.
ImageDecoders = Callable[[tuple[int, int], int], "ImageDecoder"]


@dataclass(frozen=True)
class Supply:
    """What only the run hands a source: Keras' downloader and your loader, so that nothing under
    `ktrun.data` imports Keras or code of yours (`check` hands none)."""

    keras: KerasLoader | None = None
    user: UserLoader | None = None
    images: ImageDecoders | None = None
    #: What reads a `tf.data.Dataset` your loader returns (element_spec, cardinality, unbatch).
    datasets: DatasetTools | None = None


NO_SUPPLY = Supply()


@dataclass(frozen=True)
class Needs:
    """What the run will ask of the data, for a source that learns only when it reads whether it
    streams (your loader, which may return arrays or a `tf.data.Dataset`)."""

    input_shape: tuple[int, ...]
    num_classes: int | None
    seed: int
    final: bool = False  # the final stage scores on a test split
    folds: int | None = None  # fit.cross_validation
    balanced: bool = False  # fit.class_weight may be `balanced`: the class counts are needed


PATH: KeyPath = ("data", "path")
TEST_PATH: KeyPath = ("data", "test_path")


class DataSource(ABC):
    """One `data.source`: the keys it reads, and how check describes it and the run loads it."""

    #: The value of `data.source` that selects it.
    name: str
    #: The `data.*` keys of its own it reads (beyond the preparation's: validation_split, normalize,
    #: labels, per_step, num_classes, task, limit). With `path` among them, `ktrun check` reads
    #: `data.path` only inside the project (`ktrun.data.describe`).
    keys: tuple[str, ...] = ()
    #: Read as it is trained on (`stream`), not loaded into memory (`load`).
    streamed: bool = False
    #: What `data.path` must name, for the hint of `data-path-required` ("" : a file of its name).
    path_kind: str = ""

    def known(self, data: DataSpec) -> DataInfo:
        """Shape and classes known without reading anything (all a file outside the project gets)."""
        return DataInfo(None, data.num_classes)

    def describe(self, data: DataSpec, seed: int, budget: int) -> DataInfo:
        """Check's view: the run's own reading and validation, arrays over `budget` bytes by header only.

        Rows are shuffled and limited with the run's seed, so check reports a bad row only if the run
        would use it.
        """
        from ktrun.data.prepare import inspect  # numpy: only when a file is read

        known = self.known(data)
        try:
            raw = self.load(data, budget)
        except DataError as e:
            return DataInfo(known.input_shape, known.num_classes, e.problems)
        found = inspect(raw, data, seed, known.num_classes)
        shape = found.input_shape if found.input_shape is not None else known.input_shape
        target = found.target_shape if found.target_shape is not None else known.target_shape
        return DataInfo(
            shape, found.num_classes, found.problems, target, rows=raw.x_shape[0], class_rows=found.class_rows
        )

    def own_test(self, data: DataSpec) -> tuple[str, int | None] | None:
        """The source's own test set (a description and its rows, if known); None: it has none."""
        return None

    def load_test(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw | None:
        """A test split from elsewhere: `data.test_path` read as `data.path` is (its problems
        name data.test_path), or the source's own test set; None when there is neither."""
        if not data.test_path:
            return None
        try:
            raw = self.load(data.model_copy(update={"path": data.test_path}), budget, supply)
        except DataError as e:
            raise DataError([at_test_path(p) for p in e.problems]) from None
        return replace(raw, x_path=TEST_PATH, y_path=TEST_PATH)

    @abstractmethod
    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        """The source's arrays; with a `budget`, arrays larger than it are left unread (None).

        `supply.keras` downloads keras.datasets' data sets and `supply.user` is your `data.loader`:
        the runtime passes them. Problems are raised as one `DataError`.
        """

    def stream(
        self,
        data: DataSpec,
        input_shape: tuple[int, ...],
        num_classes: int | None,
        seed: int,
        supply: Supply,
        final: bool = False,
    ) -> StreamedDataset:
        """A streamed source's splits, validated before the first trial (one `DataError`)."""
        raise NotImplementedError(f"data.source '{self.name}' is read into memory")

    def read(self, data: DataSpec, needs: Needs, supply: Supply) -> Raw | StreamedDataset:
        """What the run trains on: the splits to stream (`stream`) for a streamed source, else
        the arrays (`load`) that the shared preparation validates and splits."""
        if self.streamed:
            return self.stream(data, needs.input_shape, needs.num_classes, needs.seed, supply, needs.final)
        return self.load(data, supply=supply)

    def train_labels(self, test: Raw, train: Raw) -> Raw:
        """The test split's labels as the training rows number them (csv maps text labels)."""
        return test

    def required_path(self, data: DataSpec) -> str:
        """`data.path`, for a source that cannot do without it (`data-path-required` if unset or empty)."""
        if data.path:
            return data.path
        raise DataError(
            [
                pb.error(
                    "data-path-required",
                    PATH,
                    f"data.source '{self.name}' needs data.path",
                    f"set data.path to {self.path_kind or f'a .{self.name} file'}",
                )
            ]
        )


def at_test_path(problem: pb.Problem) -> pb.Problem:
    """A problem found reading data.test_path, named by that key (sources name data.path, or
    the key of the array or column they missed: the file to fix is the test file)."""
    return replace(problem, path=TEST_PATH) if problem.path[:1] == ("data",) else problem
