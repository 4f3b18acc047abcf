"""Row by row checks of the data a search will use: numbers, finiteness, shape and labels.

Every problem is found, counted and named by the row (and csv line) where it first occurs in the
source, not in the shuffled order, so the user can find it; nothing is fixed silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.files import quoted, shown
from ktrun.data.raw import Raw
from ktrun.problems import Problem

Array = NDArray[Any]
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
    numbers, number_problems = as_numbers(x, "x", raw.x_path, rows, raw)
    return numbers, problems + number_problems


def as_numbers(
    a: Array, what: str, path: KeyPath, rows: NDArray[np.intp], raw: Raw
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


def row_count(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _parses(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _non_finite(
    a: NDArray[np.floating[Any]], what: str, path: KeyPath, rows: NDArray[np.intp], raw: Raw
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
        f"{what}: {n_nan} NaN and {n_inf} inf values in {row_count(int(bad_rows.sum()))}; "
        f"the first is {raw.row(first)}",
        "clean the data before the search: drop those rows or impute the missing values "
        "(a single NaN turns every loss into NaN)",
    )


_Labels = tuple[NDArray[np.int64] | None, int | None, list[Problem]]


def _no_ids(problem: Problem) -> _Labels:
    """Labels that cannot be class ids: nothing to encode, and why."""
    return None, None, [problem]


def class_ids(raw: Raw, y: Array, rows: NDArray[np.intp], num_classes: int | None, given: KeyPath) -> _Labels:
    """Labels as int64 class ids in [0, classes), and the number of classes (given or max + 1)."""
    path = raw.y_path
    if y.dtype.kind not in "biuf":
        return _no_ids(
            pb.error(
                "data-label-type",
                path,
                f"labels hold {shown(y.dtype)} values, not integer class ids",
                "store class ids 0..C-1 as integers (or set data.task: regression for numeric targets)",
            )
        )
    if y.ndim == 2 and y.shape[1] > 1:
        return _one_hot_ids(raw, y, rows, num_classes, given)
    if y.ndim != 1:
        return _no_ids(
            pb.error(
                "data-label-shape",
                path,
                f"labels have shape {tuple(y.shape[1:])} per sample; classification needs one id each",
                "store one integer class id per sample (or one one-hot row)",
            )
        )
    if y.dtype.kind == "f":
        problem = _non_finite(y, "labels", path, rows, raw)
        if problem:
            return _no_ids(problem)
        fractional = y != np.round(y)
        if fractional.any():
            first = _first(fractional, rows)
            return _no_ids(
                pb.error(
                    "data-label-type",
                    path,
                    f"{int(fractional.sum())} labels are not whole numbers; the first is "
                    f"{raw.row(int(rows[first]))}: {y[first]}",
                    "classification needs integer class ids 0..C-1; set data.task: regression for "
                    "continuous targets",
                )
            )
    if y.size == 0:
        return y.astype(np.int64), num_classes, []
    low, high = int(y.min()), int(y.max())  # before the cast: a huge uint64 or float must not wrap
    if low < 0:
        first = _first(y < 0, rows)
        return _no_ids(
            pb.error(
                "data-label-range",
                path,
                f"labels range from {low} to {high}, but class ids start at 0 (the first negative label "
                f"is {raw.row(int(rows[first]))})",
                "relabel the data as class ids 0..C-1 (e.g. -1/1 labels as 0/1)",
            )
        )
    if num_classes is None and high >= MAX_CLASSES:
        return _no_ids(
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
        return _no_ids(
            pb.error(
                "data-label-range",
                given,
                f"labels range from {low} to {shown(high)} but the model has {classes} classes",
                "fix data.num_classes or the final layer's units, or relabel the data as 0..C-1",
            )
        )
    return y.astype(np.int64), classes, []


def _one_hot_ids(
    raw: Raw, y: Array, rows: NDArray[np.intp], num_classes: int | None, given: KeyPath
) -> _Labels:
    """Labels stored as one-hot rows: back to ids (they are re-encoded as `data.labels` asks)."""
    valid = ((y == 0) | (y == 1)).all(axis=1) & (y.sum(axis=1) == 1)
    if not valid.all():
        first = int(rows[_first(~valid, rows)])
        return _no_ids(
            pb.error(
                "data-label-type",
                raw.y_path,
                f"labels are rows of {y.shape[1]} values but {int((~valid).sum())} are not one-hot; "
                f"the first is {raw.row(first)}",
                "store one integer class id per sample, or exactly one 1 per one-hot row",
            )
        )
    classes = int(y.shape[1])
    if num_classes is not None and num_classes != classes:
        return _no_ids(
            pb.error(
                "data-label-range",
                given,
                f"labels are one-hot rows of {classes} classes but the model has {num_classes} classes",
                "fix data.num_classes or the final layer's units, or relabel the data",
            )
        )
    return np.argmax(y, axis=1).astype(np.int64), classes, []
