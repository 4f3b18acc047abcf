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
from ktrun.data.files import CSV_HINT, DataError, Npz, open_data, quoted, read_csv, shown, shown_path
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
#: More classes than this, inferred from the labels (max + 1), is a labelling mistake, not a data set.
MAX_CLASSES = 100_000
_PATH: KeyPath = ("data", "path")
_KERAS_FILE_HINT = f"give a Keras-format .npz holding {', '.join(KERAS_NPZ_KEYS)}"


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with `==` has no single truth value
class Dataset:
    """Arrays ready for `model.fit`: validated, shuffled, limited, split and normalised."""

    x_train: NDArray[np.float32]  # (n, *input_shape)
    y_train: Array  # int64 (n,) sparse; float32 (n, classes) one-hot; float32 for regression
    x_val: NDArray[np.float32] | None
    y_val: Array | None
    input_shape: tuple[int, ...]
    num_classes: int | None
    source: str  # for people: "digits (scikit-learn, 1797 rows)"
    #: Not errors, but worth telling the user (e.g. a class that never appears in the training rows).
    warnings: tuple[Problem, ...] = ()


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
    return _prepare(raw, data, tuple(int(d) for d in input_shape), classes, seed)


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
        valid = _validate(raw, data, None, num_classes, seed)
    except DataError as e:
        return FileInfo(None, num_classes, e.problems)
    classes = valid.classes if valid.classes is not None else num_classes
    return FileInfo(raw.x_shape[1:], classes, valid.problems)


# ---------------------------------------------------------------- loading


@dataclass
class _Raw:
    """Arrays as loaded, with what is needed to word problems about them."""

    x: Array | None  # None: not read (larger than the check's budget)
    y: Array | None
    label: str  # "digits", "mnist from /path/mnist.npz"
    origin: str | None  # "scikit-learn", "keras.datasets"
    x_path: KeyPath  # the config key to fix for a problem with x ...
    y_path: KeyPath  # ... and with y
    lines: list[int] | None = None  # csv: the file line of each row
    note: str = ""  # e.g. how csv text labels were mapped to ids
    shape: tuple[int, ...] | None = None  # x's shape when x is not read

    @property
    def x_shape(self) -> tuple[int, ...]:
        if self.x is not None:
            return tuple(int(d) for d in self.x.shape)
        assert self.shape is not None
        return self.shape

    def row(self, i: int) -> str:
        return f"row {i} (line {self.lines[i]})" if self.lines is not None else f"row {i}"

    def describe(self, rows: int, used: int) -> str:
        count = f"{rows} rows" + (f", {used} used" if used < rows else "")
        return f"{self.label} ({self.origin + ', ' if self.origin else ''}{count}){self.note}"


def _load(data: DataSpec, keras_loader: KerasLoader | None, budget: int | None = None) -> _Raw:
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


def _load_digits() -> _Raw:
    from sklearn.datasets import load_digits  # lazily: only this source needs scikit-learn

    bunch = load_digits()
    here: KeyPath = ("data", "source")
    return _Raw(bunch.images[..., np.newaxis], bunch.target, "digits", "scikit-learn", here, here)


def _keras_arrays(x: Array, y: Array) -> tuple[Array, Array]:
    """Keras ships grey images as (n, H, W) and cifar labels as (n, 1): the model wants (n, H, W, 1), (n,)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return x, y


def _load_keras_file(source: str, name: str, budget: int | None) -> _Raw:
    with open_data(name, _KERAS_FILE_HINT) as (path, fh):
        npz = Npz(path, fh, _KERAS_FILE_HINT)
        x, y, shape = _read_pair(npz, ("x_train", _PATH), ("y_train", _PATH), budget)
    if len(shape) == 3:  # grey images: (n, H, W) → (n, H, W, 1), as `_keras_arrays` does
        shape = (*shape, 1)
        x = x[..., np.newaxis] if x is not None else None
    if y is not None and y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return _Raw(x, y, f"{source} from {shown_path(path)}", None, _PATH, _PATH, shape=shape)


def _load_from_keras(source: str, keras_loader: KerasLoader | None) -> _Raw:
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
    return _Raw(x, y, source, "keras.datasets", here, here)


def _load_npz(data: DataSpec, name: str, budget: int | None) -> _Raw:
    x_path: KeyPath = ("data", "x_key")
    y_path: KeyPath = ("data", "y_key")
    hint = "give an .npz written by numpy.savez with the arrays data.x_key / data.y_key name"
    with open_data(name, hint) as (path, fh):
        npz = Npz(path, fh, hint)
        x, y, shape = _read_pair(npz, (data.x_key, x_path), (data.y_key, y_path), budget)
    if y is not None and y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return _Raw(x, y, f"npz from {shown_path(path)}", None, x_path, y_path, shape=shape)


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


def _load_csv(data: DataSpec, name: str) -> _Raw:
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
    return _Raw(x, y, f"csv from {shown_path(path)}", None, _PATH, label_path, table.lines, note)


def _csv_class_ids(y: Array) -> tuple[Array, list[str]]:
    """Numeric labels as numbers; text labels (`setosa`) as ids of their sorted names, missing as NaN."""
    try:
        return y.astype(np.float64), []
    except ValueError:
        pass
    names = sorted({str(v) for v in y if v != "nan"})
    ids = {name: float(i) for i, name in enumerate(names)}
    return np.array([ids.get(str(v), np.nan) for v in y], dtype=np.float64), names


# ---------------------------------------------------------------- validating and preparing


@dataclass
class _Valid:
    """The rows the search uses (`order`), as numbers, and everything wrong with them."""

    order: NDArray[np.intp]
    x: NDArray[np.float32] | None
    ids: NDArray[np.int64] | None  # classification
    targets: NDArray[np.float32] | None  # regression
    classes: int | None
    problems: list[Problem]


def _validate(
    raw: _Raw, data: DataSpec, input_shape: tuple[int, ...] | None, num_classes: int | None, seed: int
) -> _Valid:
    """Shuffle, limit and check every row the search will use (x and y only if they were read)."""
    n = raw.x_shape[0]
    if raw.y is not None and len(raw.y) != n:
        raise DataError(
            [
                pb.error(
                    "data-length-mismatch",
                    raw.y_path,
                    f"x has {n} rows but y has {len(raw.y)}",
                    "x and y need one row per sample, in the same order",
                )
            ]
        )
    reading = raw.x is not None or raw.y is not None
    order = np.random.default_rng(seed).permutation(n) if reading else np.arange(0)
    used = min(n, data.limit) if data.limit is not None else n
    order = order[:used]
    n_val = round(used * data.validation_split) if data.validation_split > 0 else 0
    problems: list[Problem] = []
    if used == 0 or (data.validation_split > 0 and n_val in (0, used)):
        problems.append(
            pb.error(
                "data-too-small",
                ("data", "limit")
                if data.limit is not None and data.limit < n
                else ("data", "validation_split"),
                "there are no rows"
                if used == 0
                else f"{_rows(used)} with validation_split {data.validation_split} leave {used - n_val} "
                f"for training and {n_val} for validation",
                "use more rows (raise data.limit), or set data.validation_split=0 to validate on nothing",
            )
        )
    x: NDArray[np.float32] | None = None
    if raw.x is not None:
        x, x_problems = _check_x(raw, raw.x[order], order, input_shape)
        problems += x_problems
    classes: int | None = None
    ids: NDArray[np.int64] | None = None
    targets: NDArray[np.float32] | None = None
    if raw.y is not None and data.task == "classification":
        # A class count the user set is where a range error points; otherwise at the labels.
        given = ("data", "num_classes") if data.num_classes is not None else raw.y_path
        ids, classes, y_problems = _class_ids(raw, raw.y[order], order, num_classes, given)
        problems += y_problems
    elif raw.y is not None:
        targets, y_problems = _numbers(raw.y[order], "targets", raw.y_path, order, raw)
        problems += y_problems
    return _Valid(order, x, ids, targets, classes, problems)


def _prepare(
    raw: _Raw, data: DataSpec, input_shape: tuple[int, ...], num_classes: int | None, seed: int
) -> Dataset:
    valid = _validate(raw, data, input_shape, num_classes, seed)
    if valid.problems:
        raise DataError(valid.problems)
    x, ids, classes, targets = valid.x, valid.ids, valid.classes, valid.targets
    assert x is not None  # no problems means every check passed (and the run reads everything)
    n, used = raw.x_shape[0], len(valid.order)
    n_val = round(used * data.validation_split) if data.validation_split > 0 else 0

    n_train = used - n_val
    x_train, x_val = _normalize(data.normalize, x[:n_train], x[n_train:] if n_val else None)
    warnings: tuple[Problem, ...] = ()
    y: Array
    if ids is not None and classes is not None:
        warnings = _missing_classes(ids[:n_train], classes)
        y = np.eye(classes, dtype=np.float32)[ids] if data.labels == "one_hot" else ids
    else:
        assert targets is not None
        y = targets
    return Dataset(
        x_train=x_train,
        y_train=y[:n_train],
        x_val=x_val,
        y_val=y[n_train:] if n_val else None,
        input_shape=input_shape,
        num_classes=classes,
        source=raw.describe(n, used),
        warnings=warnings,
    )


def _check_x(
    raw: _Raw, x: Array, rows: NDArray[np.intp], input_shape: tuple[int, ...] | None
) -> tuple[NDArray[np.float32] | None, list[Problem]]:
    """Per-sample shape (if the model's is known), then numbers, then finiteness: all reported."""
    problems: list[Problem] = []
    per_sample = tuple(int(d) for d in x.shape[1:])
    if input_shape is not None and per_sample != input_shape and input_shape == (*per_sample, 1):
        x = x[..., np.newaxis]  # grey images stored without a channel axis
        per_sample = input_shape
    if input_shape is not None and per_sample != input_shape:
        problems.append(
            pb.error(
                "data-shape-mismatch",
                raw.x_path,
                f"each sample has shape {per_sample} but the model's input shape is {input_shape}",
                f"set model.input_shape to {list(per_sample)} or add a Reshape layer first"
                + (
                    " (or check data.x_key: it may name the wrong array)" if raw.x_path[-1] == "x_key" else ""
                ),
            )
        )
    numbers, number_problems = _numbers(x, "x", raw.x_path, rows, raw)
    return numbers, problems + number_problems


def _numbers(
    a: Array, what: str, path: KeyPath, rows: NDArray[np.intp], raw: _Raw
) -> tuple[NDArray[np.float32] | None, list[Problem]]:
    """`a` as float32 if every value is a finite number; otherwise the problem, with counts and a row."""
    if a.dtype.kind in "US":
        try:
            a = a.astype(np.float64)
        except ValueError:
            parses = np.vectorize(_parses, otypes=[bool])(a).reshape(len(a), -1)
            bad = ~parses.all(axis=1)
            first = _first(bad, rows)
            example = a.reshape(len(a), -1)[first][~parses[first]][0]
            return None, [
                pb.error(
                    "data-not-numeric",
                    path,
                    f"{what}: {int((~parses).sum())} non-numeric values in {_rows(int(bad.sum()))}; "
                    f"the first is {raw.row(int(rows[first]))}: {quoted(example)}",
                    "features and targets must be numbers: encode categories as numbers first",
                )
            ]
    if a.dtype.kind not in "biuf":
        return None, [
            pb.error(
                "data-not-numeric",
                path,
                f"{what} holds {shown(a.dtype)} values, not numbers",
                "store numbers (integers or floats) in the file",
            )
        ]
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf: reported below
        f = a.astype(np.float32)
    problem = _non_finite(f, what, path, rows, raw)
    return (None, [problem]) if problem else (f, [])


def _first(bad: NDArray[np.bool_], rows: NDArray[np.intp]) -> int:
    """Position of the bad row that comes first in the source (rows are shuffled)."""
    candidates = np.flatnonzero(bad)
    return int(candidates[np.argmin(rows[candidates])])


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _parses(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _non_finite(
    a: NDArray[np.floating[Any]], what: str, path: KeyPath, rows: NDArray[np.intp], raw: _Raw
) -> Problem | None:
    if a.size == 0:
        return None
    nan, inf = np.isnan(a), np.isinf(a)
    n_nan, n_inf = int(nan.sum()), int(inf.sum())
    if n_nan == 0 and n_inf == 0:
        return None
    bad_rows = (nan | inf).reshape(len(a), -1).any(axis=1)
    first = int(rows[_first(bad_rows, rows)])
    return pb.error(
        "data-not-finite",
        path,
        f"{what}: {n_nan} NaN and {n_inf} inf values in {_rows(int(bad_rows.sum()))}; "
        f"the first is {raw.row(first)}",
        "clean the data before the search: drop those rows or impute the missing values "
        "(a single NaN turns every loss into NaN)",
    )


def _class_ids(
    raw: _Raw, y: Array, rows: NDArray[np.intp], num_classes: int | None, given: KeyPath
) -> tuple[NDArray[np.int64] | None, int | None, list[Problem]]:
    """Labels as int64 class ids in [0, classes), and the number of classes (given or max + 1)."""
    path = raw.y_path
    if y.dtype.kind not in "biuf":
        return (
            None,
            None,
            [
                pb.error(
                    "data-label-type",
                    path,
                    f"labels hold {shown(y.dtype)} values, not integer class ids",
                    "store class ids 0..C-1 as integers (or set data.task: regression for numeric targets)",
                )
            ],
        )
    if y.ndim == 2 and y.shape[1] > 1:
        return _one_hot_ids(raw, y, rows, num_classes, given)
    if y.ndim != 1:
        return (
            None,
            None,
            [
                pb.error(
                    "data-label-shape",
                    path,
                    f"labels have shape {tuple(y.shape[1:])} per sample; classification needs one id each",
                    "store one integer class id per sample (or one one-hot row)",
                )
            ],
        )
    if y.dtype.kind == "f":
        problem = _non_finite(y, "labels", path, rows, raw)
        if problem:
            return None, None, [problem]
        fractional = y != np.round(y)
        if fractional.any():
            first = _first(fractional, rows)
            return (
                None,
                None,
                [
                    pb.error(
                        "data-label-type",
                        path,
                        f"{int(fractional.sum())} labels are not whole numbers; the first is "
                        f"{raw.row(int(rows[first]))}: {y[first]}",
                        "classification needs integer class ids 0..C-1; set data.task: regression for "
                        "continuous targets",
                    )
                ],
            )
    if y.size == 0:
        return y.astype(np.int64), num_classes, []
    low, high = int(y.min()), int(y.max())  # before the cast: a huge uint64 or float must not wrap
    if low < 0:
        first = _first(y < 0, rows)
        return (
            None,
            None,
            [
                pb.error(
                    "data-label-range",
                    path,
                    f"labels range from {low} to {high}, but class ids start at 0 (the first negative label "
                    f"is {raw.row(int(rows[first]))})",
                    "relabel the data as class ids 0..C-1 (e.g. -1/1 labels as 0/1)",
                )
            ],
        )
    if num_classes is None and high >= MAX_CLASSES:
        return (
            None,
            None,
            [
                pb.error(
                    "data-label-range",
                    path,
                    f"labels go up to {shown(high)}, which would make {shown(high + 1)} classes",
                    "relabel the data as class ids 0..C-1, set data.num_classes if you truly mean that "
                    "many, or data.task: regression for numeric targets",
                )
            ],
        )
    classes = num_classes if num_classes is not None else high + 1
    if high >= classes:
        return (
            None,
            None,
            [
                pb.error(
                    "data-label-range",
                    given,
                    f"labels range from {low} to {shown(high)} but the model has {classes} classes",
                    "fix data.num_classes or the final layer's units, or relabel the data as 0..C-1",
                )
            ],
        )
    return y.astype(np.int64), classes, []


def _one_hot_ids(
    raw: _Raw, y: Array, rows: NDArray[np.intp], num_classes: int | None, given: KeyPath
) -> tuple[NDArray[np.int64] | None, int | None, list[Problem]]:
    """Labels stored as one-hot rows: back to ids (they are re-encoded as `data.labels` asks)."""
    valid = ((y == 0) | (y == 1)).all(axis=1) & (y.sum(axis=1) == 1)
    if not valid.all():
        first = int(rows[_first(~valid, rows)])
        return (
            None,
            None,
            [
                pb.error(
                    "data-label-type",
                    raw.y_path,
                    f"labels are rows of {y.shape[1]} values but {int((~valid).sum())} are not one-hot; "
                    f"the first is {raw.row(first)}",
                    "store one integer class id per sample, or exactly one 1 per one-hot row",
                )
            ],
        )
    classes = int(y.shape[1])
    if num_classes is not None and num_classes != classes:
        return (
            None,
            None,
            [
                pb.error(
                    "data-label-range",
                    given,
                    f"labels are one-hot rows of {classes} classes but the model has {num_classes} classes",
                    "fix data.num_classes or the final layer's units, or relabel the data",
                )
            ],
        )
    return np.argmax(y, axis=1).astype(np.int64), classes, []


def _missing_classes(ids: NDArray[np.int64], classes: int) -> tuple[Problem, ...]:
    """Not an error (small or limited data sets often lack a class), but the model can never learn it."""
    missing = sorted(set(range(classes)) - {int(i) for i in np.unique(ids)})
    if not missing:
        return ()
    shown = ", ".join(str(c) for c in missing[:10]) + (", ..." if len(missing) > 10 else "")
    return (
        pb.warning(
            "data-class-missing",
            ("data", "num_classes"),
            f"{len(missing)} of {classes} classes never appear in the training rows: {shown}",
            "check data.num_classes and data.limit; the model cannot learn a class it never sees",
        ),
    )


def _normalize(
    how: str, train: NDArray[np.float32], val: NDArray[np.float32] | None
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
    """Statistics come from the training rows only, so nothing about the validation rows leaks in."""
    if how == "none":
        return train, val
    if how == "scale":
        peak = float(np.abs(train).max()) if train.size else 0.0
        factor = np.float32(peak if peak > 0 else 1.0)
        return train / factor, (val / factor if val is not None else None)
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    # Constant features (std below float32 resolution) are only centred: dividing would amplify rounding.
    std = np.where(std <= np.finfo(np.float32).eps * np.maximum(1.0, np.abs(mean)), 1.0, std)
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    return (train - mean32) / std32, ((val - mean32) / std32 if val is not None else None)


__all__ = ["DataError", "Dataset", "FileInfo", "KerasLoader", "inspect_file", "load_dataset"]
