"""What the run hands the data layer: Keras' own dataset downloads (for sources given without
`data.path`; needs the network), your loader, and the TensorFlow work on the `tf.data.Dataset`s it
may return."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from numpy.typing import NDArray

from ktrun import problems as pb
from ktrun.data.raw import DataError
from ktrun.data.sources import UserLoader
from ktrun.data.stream import Element, Tensor
from ktrun.spec.experiment import ExperimentSpec


def user_loader(spec: ExperimentSpec) -> UserLoader | None:
    """`data.loader`'s function, imported from `custom_objects.loaders` (None for other sources);
    an import that fails is your code's problem, reported before the first trial (exit 2)."""
    name = spec.data.loader
    if spec.data.source != "custom" or not name or name not in spec.custom_objects.loaders:
        return None  # `check` has reported it
    target = spec.custom_objects.loaders[name]

    def failed(message: str, hint: str) -> DataError:
        return DataError([pb.error("data-loader-failed", ("custom_objects", "loaders", name), message, hint)])

    try:
        found = spec.custom_objects.resolve("loaders", name)
    except Exception as e:
        raise failed(
            f"importing your loader `{target}` failed: {type(e).__name__}: {str(e)[:300]}",
            "check the module imports on its own (python -c 'import module') from the directory "
            "you run ktrun in",
        ) from None
    if not callable(found):
        raise failed(
            f"`{target}` is a {type(found).__name__}, not a function",
            "name a function that takes no arguments and returns (x, y) arrays or a tf.data.Dataset",
        )
    return found  # type: ignore[no-any-return]


def keras_dataset(source: str) -> Any:
    """keras.datasets.<source>.load_data(): downloads unless Keras has the file cached."""
    import keras

    return getattr(keras.datasets, source).load_data()


class TfDatasets:
    """`ktrun.data.stream.DatasetTools`: reads your loader's datasets for the data layer, which
    imports no TensorFlow."""

    def element(self, dataset: object) -> Element | None:
        import tensorflow as tf

        if not isinstance(dataset, tf.data.Dataset):
            return None
        spec = dataset.element_spec
        parts = spec if isinstance(spec, tuple) else (spec,)
        tensors: tuple[Tensor, ...] | None = None
        if all(type(p) is tf.TensorSpec for p in parts):  # not ragged, sparse or nested
            tensors = tuple(
                Tensor(
                    tuple(p.shape.as_list()) if p.shape.rank is not None else None,
                    p.dtype.name,
                    p.dtype.is_integer or p.dtype.is_floating or p.dtype.is_bool,
                )
                for p in parts
            )
        n = int(dataset.cardinality())
        return Element(str(spec), tensors, n if n >= 0 else None, n == tf.data.INFINITE_CARDINALITY)

    def unbatched(self, dataset: Any) -> Any:
        return dataset.unbatch()

    def part(self, dataset: Any, start: int, stop: int | None) -> Any:
        rest = dataset.skip(start) if start else dataset
        return rest.take(stop - start) if stop is not None else rest

    def count(self, dataset: Any) -> int:
        return int(dataset.reduce(0, lambda n, _: n + 1))

    def arrays(self, dataset: Any, batch: int) -> Iterator[tuple[NDArray[Any], ...]]:
        for item in dataset.batch(batch).as_numpy_iterator():
            yield item if isinstance(item, tuple) else (item,)
