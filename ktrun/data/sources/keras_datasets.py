"""`data.source: mnist | fashion_mnist | cifar10`: keras.datasets, or a local copy in Keras' format.

Without `data.path` the run downloads through the `supply.keras` the runtime passes (this module
never imports Keras); with it, the file is read like any .npz, from its `x_train`/`y_train` arrays.
Shapes and classes are known, so check reads only a local file.
"""

from __future__ import annotations

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError, DataInfo, Raw
from ktrun.data.sources.base import NO_SUPPLY, PATH, DataSource, KerasLoader, Supply
from ktrun.data.sources.npz import flat_labels, read_pair
from ktrun.problems import KtrunError
from ktrun.spec.experiment import DataSpec

#: Keras-format local files: the arrays they must hold.
KERAS_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_FILE_HINT = f"give a Keras-format .npz holding {', '.join(KERAS_NPZ_KEYS)}"


class KerasDataset(DataSource):
    """One of keras.datasets' image sets: they differ only in name, image shape and classes."""

    keys = ("path",)

    def __init__(self, name: str, shape: tuple[int, ...], classes: int, rows: tuple[int, int]) -> None:
        self.name, self.shape, self.classes = name, shape, classes
        self.rows, self.test_rows = rows

    def known(self, data: DataSpec) -> DataInfo:
        return DataInfo(self.shape, self.classes, target_shape=(), rows=None if data.path else self.rows)

    def own_test(self, data: DataSpec) -> tuple[str, int | None] | None:
        if data.test_split > 0:  # held out of x_train instead
            return None
        return f"{self.name}'s own x_test, y_test", None if data.path else self.test_rows

    def load_test(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw | None:
        if self.own_test(data) is None:
            return None
        if data.path:
            return self._load_file(data.path, budget, ("x_test", "y_test"))
        return self._download(supply.keras, test=True)

    def describe(self, data: DataSpec, seed: int, budget: int) -> DataInfo:
        if not data.path:
            return self.known(data)
        found = super().describe(data, seed, budget)
        # A file whose samples are single values is still described as this data set's images,
        # so the run, which checks them against the model, reports the mismatch.
        return DataInfo(
            found.input_shape or self.shape,
            self.classes,
            found.problems,
            found.target_shape,
            rows=found.rows,
            class_rows=found.class_rows,
        )

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        if data.path:
            return self._load_file(data.path, budget)
        return self._download(supply.keras)

    def _load_file(
        self, name: str, budget: int | None, keys: tuple[str, str] = ("x_train", "y_train")
    ) -> Raw:
        from ktrun.data.files import shown_path  # numpy: only when a file is read

        path, x, y, shape, y_shape = read_pair(name, _FILE_HINT, (keys[0], PATH), (keys[1], PATH), budget)
        if len(shape) == 3:  # grey images: (n, H, W) → (n, H, W, 1), as keras.datasets' arrays
            shape = (*shape, 1)
            x = x[..., None] if x is not None else None
        label = f"{self.name} from {shown_path(path)}" + ("" if keys[0] == "x_train" else f" ({keys[0]})")
        return Raw(x, y, label, None, PATH, PATH, shape=shape, y_stored=y_shape)

    def _download(self, keras_loader: KerasLoader | None, test: bool = False) -> Raw:
        import numpy as np

        from ktrun.data.files import shown

        offline = (
            f"for offline use pass data.path=FILE.npz: a Keras-format .npz ({', '.join(KERAS_NPZ_KEYS)}), "
            f"e.g. ~/.keras/datasets/{self.name}.npz saved from keras.datasets.{self.name}.load_data()"
        )
        if keras_loader is None:
            raise DataError(
                [
                    pb.error(
                        "data-needs-download",
                        PATH,
                        f"data.source '{self.name}' without data.path is downloaded by keras.datasets, "
                        "which is not available here",
                        offline,
                    )
                ]
            )
        try:
            loaded = keras_loader(self.name)
        except KtrunError:
            raise
        except (
            Exception
        ) as e:  # a failed download (no network, proxy, full disk): a user problem, not a crash
            raise DataError(
                [
                    pb.error(
                        "data-download-failed",
                        PATH,
                        f"could not load '{self.name}' from keras.datasets: {shown(e, 200)}",
                        offline,
                    )
                ]
            ) from e
        x_any, y_any = loaded[1] if test else loaded[0]
        x = np.asarray(x_any)
        if x.ndim == 3:  # grey images come as (n, H, W): the model takes (n, H, W, 1)
            x = x[..., np.newaxis]
        here: KeyPath = ("data", "source")
        label = f"{self.name} (x_test)" if test else self.name
        return Raw(x, flat_labels(np.asarray(y_any)), label, "keras.datasets", here, here)


MNIST = KerasDataset("mnist", (28, 28, 1), 10, (60000, 10000))
FASHION_MNIST = KerasDataset("fashion_mnist", (28, 28, 1), 10, (60000, 10000))
CIFAR10 = KerasDataset("cifar10", (32, 32, 3), 10, (50000, 10000))
