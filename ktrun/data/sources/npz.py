"""`data.source: npz`: any .npz holding features and labels, named by `data.x_key` and `data.y_key`.

Its reader (`read_pair`) also serves Keras-format files (`keras_datasets`): both are checked from
their .npy headers before any array is read, and arrays over the check's budget are never read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError, Raw
from ktrun.data.sources.base import NO_SUPPLY, DataSource, Supply
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Array = NDArray[Any]

HINT = "give an .npz written by numpy.savez with the arrays data.x_key / data.y_key name"


class NpzFile(DataSource):
    """Shape from the x array's header; classes from `data.num_classes` or the labels (max + 1)."""

    name = "npz"
    keys = ("path", "x_key", "y_key")

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        from ktrun.data.files import shown_path

        x_path: KeyPath = ("data", "x_key")
        y_path: KeyPath = ("data", "y_key")
        ys = (data.y_key, y_path) if data.task != "reconstruction" else None  # autoencoders: no y
        path, x, y, shape, y_shape = read_pair(
            self.required_path(data), HINT, (data.x_key, x_path), ys, budget
        )
        label = f"npz from {shown_path(path)}"
        return Raw(x, y, label, None, x_path, y_path, shape=shape, y_stored=y_shape)


def read_pair(
    name: str, hint: str, xs: tuple[str, KeyPath], ys: tuple[str, KeyPath] | None, budget: int | None
) -> tuple[Path, Array | None, Array | None, tuple[int, ...], tuple[int, ...] | None]:
    """Features and labels from an .npz, checked from their headers (names, dtypes, sizes, rows) first.

    `ys` None: no labels are read (the target is the input). Labels stored as a column, shape
    (n, 1), come back flat. Arrays over `budget` bytes are None; the shapes come from the headers.
    """
    from ktrun.data.files import Npz, open_data, shown, shown_path  # numpy: only when a file is read

    arrays = [xs] if ys is None else [xs, ys]
    with open_data(name, hint) as (path, fh):
        npz = Npz(path, fh, hint)
        npz.require(dict(arrays))
        headers = [npz.header(key, where) for key, where in arrays]
        for h, (key, where) in zip(headers, arrays, strict=True):
            if not h.shape:
                raise DataError(
                    [
                        pb.error(
                            "data-shape-mismatch",
                            where,
                            f"array '{shown(key)}' in {shown_path(npz.path)} is a single value, "
                            "not one row per sample",
                            npz.hint,
                        )
                    ]
                )
        hx = headers[0]
        n_y = headers[-1].shape[0]
        if ys is not None and hx.shape[0] != n_y:
            raise DataError(
                [
                    pb.error(
                        "data-length-mismatch",
                        ys[1],
                        f"'{shown(xs[0])}' has {hx.shape[0]} rows but '{shown(ys[0])}' has {n_y}",
                        "x and y need one row per sample, in the same order",
                    )
                ]
            )
        x, *y = (
            npz.read(h, where) if budget is None or h.nbytes <= budget else None
            for h, (_, where) in zip(headers, arrays, strict=True)
        )
    y_shape = flat_shape(tuple(headers[1].shape)) if ys is not None else None
    return path, x, flat_labels(y[0] if y else None), hx.shape, y_shape


def flat_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape `flat_labels` gives an array of this shape."""
    return shape[:1] if len(shape) == 2 and shape[1] == 1 else shape


def flat_labels(y: Array | None) -> Array | None:
    """Labels stored as a column (n, 1), as Keras ships cifar's, become one id per sample (n,)."""
    if y is not None and y.ndim == 2 and y.shape[1] == 1:
        return y.reshape(-1)
    return y


SOURCE = NpzFile()
