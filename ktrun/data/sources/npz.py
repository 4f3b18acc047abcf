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
from ktrun.data.sources.base import DataSource, KerasLoader
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Array = NDArray[Any]

HINT = "give an .npz written by numpy.savez with the arrays data.x_key / data.y_key name"


class NpzFile(DataSource):
    """Shape from the x array's header; classes from `data.num_classes` or the labels (max + 1)."""

    name = "npz"
    keys = ("path", "x_key", "y_key")

    def load(self, data: DataSpec, budget: int | None = None, keras_loader: KerasLoader | None = None) -> Raw:
        from ktrun.data.files import shown_path

        x_path: KeyPath = ("data", "x_key")
        y_path: KeyPath = ("data", "y_key")
        path, x, y, shape = read_pair(
            self.required_path(data), HINT, (data.x_key, x_path), (data.y_key, y_path), budget
        )
        return Raw(x, y, f"npz from {shown_path(path)}", None, x_path, y_path, shape=shape)


def read_pair(
    name: str, hint: str, xs: tuple[str, KeyPath], ys: tuple[str, KeyPath], budget: int | None
) -> tuple[Path, Array | None, Array | None, tuple[int, ...]]:
    """Features and labels from an .npz, checked from their headers (names, dtypes, sizes, rows) first.

    Labels stored as a column, shape (n, 1), come back flat. Arrays over `budget` bytes are None.
    """
    from ktrun.data.files import Npz, open_data, shown, shown_path  # numpy: only when a file is read

    with open_data(name, hint) as (path, fh):
        npz = Npz(path, fh, hint)
        npz.require(dict([xs, ys]))
        headers = [npz.header(key, where) for key, where in (xs, ys)]
        for h, (key, where) in zip(headers, (xs, ys), strict=True):
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
        hx, hy = headers
        if hx.shape[0] != hy.shape[0]:
            raise DataError(
                [
                    pb.error(
                        "data-length-mismatch",
                        ys[1],
                        f"'{shown(xs[0])}' has {hx.shape[0]} rows but '{shown(ys[0])}' has {hy.shape[0]}",
                        "x and y need one row per sample, in the same order",
                    )
                ]
            )
        x, y = (
            npz.read(h, where) if budget is None or h.nbytes <= budget else None
            for h, (_, where) in zip(headers, (xs, ys), strict=True)
        )
    return path, x, flat_labels(y), hx.shape


def flat_labels(y: Array | None) -> Array | None:
    """Labels stored as a column (n, 1), as Keras ships cifar's, become one id per sample (n,)."""
    if y is not None and y.ndim == 2 and y.shape[1] == 1:
        return y.reshape(-1)
    return y


SOURCE = NpzFile()
