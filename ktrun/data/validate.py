"""Row by row checks of the data a search will use: numbers, finiteness, shape and labels.

Every problem is found, counted and named by the row (and csv line) where it first occurs in the
source, not in the shuffled order, so the user can find it; nothing is fixed silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.files import quoted, shown
from ktrun.data.raw import Raw
from ktrun.data.target import Expect
from ktrun.problems import Problem

Array = NDArray[Any]
#: Names a row by its index in the source, for messages: "row 7" or "row 7 (line 9)".
RowName = Callable[[int], str]
#: More classes than this, inferred from the labels (max + 1), is a labelling mistake, not a data set.
MAX_CLASSES = 100_000


def check_x(
    raw: Raw, x: Array, rows: NDArray[np.intp], input_shape: tuple[int, ...] | None
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
    numbers, number_problems = as_numbers(x, "x", raw.x_path, rows, raw.row)
    return numbers, problems + number_problems


def as_numbers(
    a: Array, what: str, path: KeyPath, rows: NDArray[np.intp], row: RowName
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
                    f"{what}: {int((~parses).sum())} non-numeric values in {row_count(int(bad.sum()))}; "
                    f"the first is {row(int(rows[first]))}: {quoted(example)}",
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
    problem = _non_finite(f, what, path, rows, row)
    return (None, [problem]) if problem else (f, [])


def _first(bad: NDArray[np.bool_], rows: NDArray[np.intp]) -> int:
    """Position of the bad row that comes first in the source (rows are shuffled); `bad` may
    have more axes than rows (one flag per time step or label): a row is bad if any is."""
    candidates = np.flatnonzero(bad.reshape(len(bad), -1).any(axis=1))
    return int(candidates[np.argmin(rows[candidates])])


def _rows(bad: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """One flag per row: any of its values is flagged."""
    return np.asarray(bad.reshape(len(bad), -1).any(axis=1), dtype=np.bool_)


def row_count(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _parses(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _non_finite(
    a: NDArray[np.floating[Any]], what: str, path: KeyPath, rows: NDArray[np.intp], row: RowName
) -> Problem | None:
    if a.size == 0:
        return None
    nan, inf = np.isnan(a), np.isinf(a)
    n_nan, n_inf = int(nan.sum()), int(inf.sum())
    if n_nan == 0 and n_inf == 0:
        return None
    bad_rows = _rows(nan | inf)
    first = int(rows[_first(bad_rows, rows)])
    return pb.error(
        "data-not-finite",
        path,
        f"{what}: {n_nan} NaN and {n_inf} inf values in {row_count(int(bad_rows.sum()))}; "
        f"the first is {row(first)}",
        "clean the data before the search: drop those rows or impute the missing values "
        "(a single NaN turns every loss into NaN)",
    )


@dataclass
class Labels:
    """One y array checked against what its output expects: the values the loss is fed from
    (class ids, multi-hot rows or real targets), the number of classes, and what is wrong."""

    values: Array | None  # int64 ids; float32 multi-hot rows or targets; None when invalid
    classes: int | None
    problems: list[Problem]


def _invalid(problem: Problem) -> Labels:
    """Labels the loss cannot use: nothing to encode, and why."""
    return Labels(None, None, [problem])


def check_y(y: Array, rows: NDArray[np.intp], want: Expect, path: KeyPath, row: RowName) -> Labels:
    """One y array (rows in the order the search uses them) against what its output expects.

    Per array, so a model with several outputs checks each of its arrays the same way. `path` is
    the key that names the array; `row` names a row of the source for messages.
    """
    if not want.classifies:
        values, problems = as_numbers(y, "targets", path, rows, row)
        return Labels(values, None, problems)
    if y.dtype.kind not in "biuf":
        return _invalid(
            pb.error(
                "data-label-type",
                path,
                f"labels hold {shown(y.dtype)} values, not "
                + ("0/1 multi-hot rows" if want.labels == "multi_hot" else "integer class ids"),
                "store class ids 0..C-1 (or 0/1 rows for data.labels: multi_hot) as numbers, or set "
                "data.task: regression for numeric targets",
            )
        )
    if want.labels == "multi_hot":
        return _multi_hot(y, rows, want, path, row)
    return class_ids(y, rows, want, path, row)


def class_ids(y: Array, rows: NDArray[np.intp], want: Expect, path: KeyPath, row: RowName) -> Labels:
    """Class ids in [0, classes), one per sample (or per time step), and the number of classes
    (given, or max + 1). One-hot rows are read back as ids (re-encoded as `data.labels` asks)."""
    rank = want.label_rank()
    if y.ndim == rank + 2 and y.shape[-1] > 1:
        return _one_hot_ids(y, rows, want, path, row)
    if y.ndim != rank + 1:
        each = tuple(int(d) for d in y.shape[1:])
        return _invalid(
            pb.error(
                "data-label-shape",
                path,
                f"labels have shape {each} per sample, but data.per_step needs one class id per time "
                "step, (n, T)"
                if want.per_step
                else f"labels have shape {each} per sample; classification needs one id each",
                "store an (n, T) array of class ids (or (n, T, C) one-hot rows), or remove data.per_step"
                if want.per_step
                else "store one integer class id per sample (or one one-hot row); set data.per_step: true "
                "for one label per time step, or data.task: regression for real-valued targets",
            )
        )
    if y.dtype.kind == "f":
        problem = _non_finite(y, "labels", path, rows, row)
        if problem:
            return _invalid(problem)
        fractional = y != np.round(y)
        if fractional.any():
            first = _first(fractional, rows)
            return _invalid(
                pb.error(
                    "data-label-type",
                    path,
                    f"{int(fractional.sum())} labels are not whole numbers; the first is "
                    f"{row(int(rows[first]))}: {y[first][fractional[first]].flat[0] if rank else y[first]}",
                    "classification needs integer class ids 0..C-1; set data.task: regression for "
                    "continuous targets",
                )
            )
    if y.size == 0:
        return Labels(y.astype(np.int64), want.num_classes, [])
    low, high = int(y.min()), int(y.max())  # before the cast: a huge uint64 or float must not wrap
    num_classes, given = want.num_classes, want.given or path
    if low < 0:
        first = _first(y < 0, rows)
        return _invalid(
            pb.error(
                "data-label-range",
                path,
                f"labels range from {low} to {high}, but class ids start at 0 (the first negative label "
                f"is {row(int(rows[first]))})",
                "relabel the data as class ids 0..C-1 (e.g. -1/1 labels as 0/1)",
            )
        )
    if num_classes is None and high >= MAX_CLASSES:
        return _invalid(
            pb.error(
                "data-label-range",
                path,
                f"labels go up to {shown(high)}, which would make {shown(high + 1)} classes",
                "relabel the data as class ids 0..C-1, set data.num_classes if you truly mean that "
                "many, or data.task: regression for numeric targets",
            )
        )
    classes = num_classes if num_classes is not None else high + 1
    if high >= classes:
        return _invalid(
            pb.error(
                "data-label-range",
                given,
                f"labels range from {low} to {shown(high)} but the model has {classes} classes",
                "fix data.num_classes or the final layer's units, or relabel the data as 0..C-1",
            )
        )
    return Labels(y.astype(np.int64), classes, [])


def _one_hot_ids(y: Array, rows: NDArray[np.intp], want: Expect, path: KeyPath, row: RowName) -> Labels:
    """Labels stored as one-hot rows: back to ids (they are re-encoded as `data.labels` asks)."""
    valid = ((y == 0) | (y == 1)).all(axis=-1) & (y.sum(axis=-1) == 1)
    if not valid.all():
        first = int(rows[_first(~valid, rows)])
        return _invalid(
            pb.error(
                "data-label-type",
                path,
                f"labels are rows of {y.shape[-1]} values but {int(_rows(~valid).sum())} are not one-hot; "
                f"the first is {row(first)}",
                _not_one_hot_hint(y, want),
            )
        )
    classes = int(y.shape[-1])
    if want.num_classes is not None and want.num_classes != classes:
        return _invalid(
            pb.error(
                "data-label-range",
                want.given or path,
                f"labels are one-hot rows of {classes} classes but the model has {want.num_classes} classes",
                "fix data.num_classes or the final layer's units, or relabel the data",
            )
        )
    return Labels(np.argmax(y, axis=-1).astype(np.int64), classes, [])


def _not_one_hot_hint(y: Array, want: Expect) -> str:
    """Rows that are not one-hot are often other kinds of labels: say which key reads them."""
    binary = bool(((y == 0) | (y == 1)).all())
    whole = y.dtype.kind in "biu" or bool((y == np.round(y)).all())
    if binary and not want.per_step:
        return (
            "these look like multi-hot rows (several labels per sample): set data.labels: multi_hot "
            "(with sigmoid units and binary_crossentropy); otherwise store exactly one 1 per row"
        )
    if whole and not want.per_step and bool((y >= 0).all()):
        return (
            "these look like one class id per time step: set data.per_step: true (sequence labelling); "
            "otherwise store one integer class id per sample, or exactly one 1 per one-hot row"
        )
    return "store one integer class id per sample, or exactly one 1 per one-hot row"


def _multi_hot(y: Array, rows: NDArray[np.intp], want: Expect, path: KeyPath, row: RowName) -> Labels:
    """Multi-label rows: 0/1 per label, any number of 1s (none included)."""
    if y.ndim != want.label_rank() + 2:
        each = tuple(int(d) for d in y.shape[1:])
        return _invalid(
            pb.error(
                "data-label-shape",
                path,
                f"labels have shape {each} per sample, but data.labels: multi_hot needs a row of 0/1 "
                "per sample (one column per label)" + (" and time step" if want.per_step else ""),
                "store an (n, k) array with 1 for each label a sample has, or set data.labels: sparse "
                "for one class id per sample",
            )
        )
    f = y.astype(np.float32)
    problem = _non_finite(f, "labels", path, rows, row)
    if problem:
        return _invalid(problem)
    bad = (f != 0) & (f != 1)
    if bad.any():
        first = _first(bad, rows)
        return _invalid(
            pb.error(
                "data-label-type",
                path,
                f"labels in {row_count(int(_rows(bad).sum()))} are not multi-hot (values other than 0 "
                f"and 1); the first is {row(int(rows[first]))}: {f[first][bad[first]].flat[0]:g}",
                "store 1 for each label a sample has and 0 otherwise (binarise scores first), or "
                "set data.task: regression for real-valued targets",
            )
        )
    k = int(y.shape[-1])
    if want.num_classes is not None and want.num_classes != k:
        return _invalid(
            pb.error(
                "data-label-range",
                want.given or path,
                f"labels are multi-hot rows of {k} labels but the model has {want.num_classes}",
                f"set data.num_classes: {k} (or leave it unset) and give the output layer {k} units",
            )
        )
    return Labels(f, k, [])
