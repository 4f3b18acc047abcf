"""Load, validate and prepare a search's data once, before the first trial (numpy only, no TensorFlow).

A search trains many models on the same arrays, so every data problem (a missing or unreadable file,
a per-sample shape the model does not take, NaN/inf, labels the final layer cannot produce) is found
here, all at once, as a user error with a hint: not as a NaN loss or a crash in trial 7.

Order of work: load → shuffle (seeded) → `limit` → validate → split → normalise (train statistics
only) → encode labels. Validation runs on the rows the search will use, but names rows by their
index in the source (and line, for csv), so the user can find them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.describe import KERAS_NPZ_KEYS
from ktrun.data.files import CSV_HINT, Npz, open_data, read_csv, shown, shown_path
from ktrun.data.prepare import Dataset, prepare, validate
from ktrun.data.raw import DataError, Raw
from ktrun.problems import KtrunError, Problem
from ktrun.spec.experiment import DataSpec

Array = NDArray[Any]
#: `keras.datasets.<name>.load_data` by name: ((x_train, y_train), (x_test, y_test)). The items are
#: typed Any because Keras is untyped; they are passed through `np.asarray`.
KerasLoader = Callable[[str], tuple[tuple[Any, Any], tuple[Any, Any]]]

#: Built-in sources that come from `keras.datasets` (or a local copy of its .npz).
KERAS_SOURCES = ("mnist", "fashion_mnist", "cifar10")
#: csv cells read as a missing value (NaN), so they are reported as "not finite" with an impute hint.
MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "null", "none"})
_PATH: KeyPath = ("data", "path")
_KERAS_FILE_HINT = f"give a Keras-format .npz holding {', '.join(KERAS_NPZ_KEYS)}"


def load_dataset(
    data: DataSpec,
    input_shape: Sequence[int],
    num_classes: int | None,
    seed: int,
    keras_loader: KerasLoader | None = None,
) -> Dataset:
    """Everything the search needs from the data, or one `DataError` listing all that is wrong.

    `input_shape` and `num_classes` are what the model expects (`num_classes` falls back to
    `data.num_classes`, then to max label + 1). `keras_loader(source)` downloads a built-in data set
    when `data.path` is unset; the runtime passes one so this module never imports Keras.
    """
    raw = _load(data, keras_loader)
    classes = num_classes if num_classes is not None else data.num_classes
    return prepare(raw, data, tuple(int(d) for d in input_shape), classes, seed)


@dataclass(frozen=True)
class FileInfo:
    """What `ktrun check` learns from a local data file (see `inspect_file`)."""

    input_shape: tuple[int, ...] | None  # per sample, as stored
    num_classes: int | None
    problems: list[Problem]


def inspect_file(data: DataSpec, seed: int, budget: int, num_classes: int | None) -> FileInfo:
    """The check's view of `data.path`: the run's own reading and validation, so the two agree.

    Headers are always read and checked; arrays larger than `budget` bytes are left to the run
    (check stays fast on big files). Rows are shuffled and limited with the run's seed, so check
    reports a bad row only if the run would use it. `num_classes` is what the run will be given.
    """
    try:
        raw = _load(data, None, budget)
        valid = validate(raw, data, None, num_classes, seed)
    except DataError as e:
        return FileInfo(None, num_classes, e.problems)
    classes = valid.classes if valid.classes is not None else num_classes
    return FileInfo(raw.x_shape[1:], classes, valid.problems)


# ---------------------------------------------------------------- loading


def _load(data: DataSpec, keras_loader: KerasLoader | None, budget: int | None = None) -> Raw:
    """The source's arrays; with a `budget`, arrays larger than it are not read (x or y is None)."""
    if data.source == "digits":
        return _load_digits()
    if data.source in KERAS_SOURCES:
        if data.path:
            return _load_keras_file(data.source, data.path, budget)
        return _load_from_keras(data.source, keras_loader)
    if data.source not in ("npz", "csv"):
        raise DataError(
            [
                pb.error(
                    "data-source-unknown",
                    ("data", "source"),
                    f"unknown data.source '{shown(data.source)}'",
                    "use digits, mnist, fashion_mnist, cifar10, npz or csv",
                )
            ]
        )
    if not data.path:
        raise DataError(
            [
                pb.error(
                    "data-path-required",
                    _PATH,
                    f"data.source '{data.source}' needs data.path",
                    f"set data.path to a .{data.source} file",
                )
            ]
        )
    if data.source == "npz":
        return _load_npz(data, data.path, budget)
    return _load_csv(data, data.path)


def _load_digits() -> Raw:
    from sklearn.datasets import load_digits  # lazily: only this source needs scikit-learn

    bunch = load_digits()
    here: KeyPath = ("data", "source")
    return Raw(bunch.images[..., np.newaxis], bunch.target, "digits", "scikit-learn", here, here)


def _keras_arrays(x: Array, y: Array) -> tuple[Array, Array]:
    """Keras ships grey images as (n, H, W) and cifar labels as (n, 1): the model wants (n, H, W, 1), (n,)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return x, y


def _load_keras_file(source: str, name: str, budget: int | None) -> Raw:
    with open_data(name, _KERAS_FILE_HINT) as (path, fh):
        npz = Npz(path, fh, _KERAS_FILE_HINT)
        x, y, shape = _read_pair(npz, ("x_train", _PATH), ("y_train", _PATH), budget)
    if len(shape) == 3:  # grey images: (n, H, W) → (n, H, W, 1), as `_keras_arrays` does
        shape = (*shape, 1)
        x = x[..., np.newaxis] if x is not None else None
    if y is not None and y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return Raw(x, y, f"{source} from {shown_path(path)}", None, _PATH, _PATH, shape=shape)


def _load_from_keras(source: str, keras_loader: KerasLoader | None) -> Raw:
    offline = (
        f"for offline use pass data.path=FILE.npz: a Keras-format .npz ({', '.join(KERAS_NPZ_KEYS)}), "
        f"e.g. ~/.keras/datasets/{source}.npz saved from keras.datasets.{source}.load_data()"
    )
    if keras_loader is None:
        raise DataError(
            [
                pb.error(
                    "data-needs-download",
                    _PATH,
                    f"data.source '{source}' without data.path is downloaded by keras.datasets, "
                    "which is not available here",
                    offline,
                )
            ]
        )
    try:
        loaded = keras_loader(source)
    except KtrunError:
        raise
    except Exception as e:  # a failed download (no network, proxy, full disk): a user problem, not a crash
        raise DataError(
            [
                pb.error(
                    "data-download-failed",
                    _PATH,
                    f"could not load '{source}' from keras.datasets: {shown(e, 200)}",
                    offline,
                )
            ]
        ) from e
    (x, y), _ = loaded
    x, y = _keras_arrays(x, y)
    here: KeyPath = ("data", "source")
    return Raw(x, y, source, "keras.datasets", here, here)


def _load_npz(data: DataSpec, name: str, budget: int | None) -> Raw:
    x_path: KeyPath = ("data", "x_key")
    y_path: KeyPath = ("data", "y_key")
    hint = "give an .npz written by numpy.savez with the arrays data.x_key / data.y_key name"
    with open_data(name, hint) as (path, fh):
        npz = Npz(path, fh, hint)
        x, y, shape = _read_pair(npz, (data.x_key, x_path), (data.y_key, y_path), budget)
    if y is not None and y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return Raw(x, y, f"npz from {shown_path(path)}", None, x_path, y_path, shape=shape)


def _read_pair(
    npz: Npz, xs: tuple[str, KeyPath], ys: tuple[str, KeyPath], budget: int | None
) -> tuple[Array | None, Array | None, tuple[int, ...]]:
    """Features and labels, checked from their headers (names, dtypes, sizes, rows) before reading."""
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
    return x, y, hx.shape


def _load_csv(data: DataSpec, name: str) -> Raw:
    with open_data(name, CSV_HINT) as (path, fh):
        table = read_csv(path, fh, data.label_column)
    rows, header, label = table.rows, table.header, table.label
    cells = np.char.strip(np.array(rows, dtype=str).reshape(len(rows), len(header)))
    cells = np.where(np.isin(np.char.lower(cells), list(MISSING_CELLS)), "nan", cells)  # widens the dtype
    x = np.delete(cells, label, axis=1)
    y: Array = cells[:, label]
    note = ""
    if data.task == "classification":
        y, names = _csv_class_ids(y)
        if names:
            shown_names = ", ".join(f"{shown(n, 30)}={i}" for i, n in enumerate(names[:10]))
            note = f"; labels {shown_names}{', ...' if len(names) > 10 else ''}"
    label_path: KeyPath = ("data", "label_column")
    return Raw(x, y, f"csv from {shown_path(path)}", None, _PATH, label_path, table.lines, note)


def _csv_class_ids(y: Array) -> tuple[Array, list[str]]:
    """Numeric labels as numbers; text labels (`setosa`) as ids of their sorted names, missing as NaN."""
    try:
        return y.astype(np.float64), []
    except ValueError:
        pass
    names = sorted({str(v) for v in y if v != "nan"})
    ids = {name: float(i) for i, name in enumerate(names)}
    return np.array([ids.get(str(v), np.nan) for v in y], dtype=np.float64), names


__all__ = ["DataError", "Dataset", "FileInfo", "KerasLoader", "inspect_file", "load_dataset"]
