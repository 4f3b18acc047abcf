"""The preparation every source shares, once per search: from a source's `Raw` arrays to a `Dataset`.

A search trains many models on the same arrays, so every data problem (a per-sample shape the model
does not take, NaN/inf, labels the final layer cannot produce) is found here, all at once, as a user
error with a hint: not as a NaN loss or a crash in trial 7.

Order of work: shuffle (seeded) → `limit` → validate → hold out the test split (`data.test_split`,
stratified by class) → validation split → normalise (train statistics only) → encode labels. A test
split from elsewhere (`data.test_path`, a built-in set's own) is validated against the training rows.
Validation runs on the rows the search will use, but names rows by their index in the source (and
line, for csv), so the user can find them. `ktrun check` runs the same validation (`inspect`), so
check and run cannot disagree about a file.

Under cross-validation (`folds`) there is no validation split: every training row belongs to the
folds, and each fold normalises its rows again with its own training rows' statistics
(`Dataset.fold`). Normalisation is per-feature affine, so normalising the already normalised rows
gives exactly what normalising the raw rows would: nothing of a fold's held-out rows leaks in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ktrun import problems as pb
from ktrun.data import columns
from ktrun.data.columns import ColumnInput
from ktrun.data.folds import fold_problems, make_folds, smallest_class, stratifies
from ktrun.data.named import Arrays
from ktrun.data.raw import DataError, DataInfo, Raw
from ktrun.data.sources.base import DataSource
from ktrun.data.splits import split_problems, split_sizes
from ktrun.data.target import Expect
from ktrun.data.validate import Labels, as_numbers, check_x, check_y, row_count
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:
    from ktrun.data.folds import Fold

Array = NDArray[Any]


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with `==` has no single truth value
class Dataset:
    """Arrays ready for `model.fit`: validated, shuffled, limited, split and normalised."""

    x_train: NDArray[np.float32]  # (n, *input_shape)
    #: int64 ids (n,) or (n, T) sparse; float32 one-hot (n, [T,] C) or multi-hot (n, k) rows;
    #: float32 regression targets of their own shape; x_train itself for reconstruction.
    y_train: Array
    x_val: NDArray[np.float32] | None
    y_val: Array | None
    input_shape: tuple[int, ...]
    num_classes: int | None
    source: str  # for people: "digits (scikit-learn, 1797 rows)"
    #: Not errors, but worth telling the user (e.g. a class that never appears in the training rows).
    warnings: tuple[Problem, ...] = ()
    #: A model with several inputs or outputs: every array by the Keras name it feeds, as
    #: (training rows, validation rows), the first input's and output's included.
    named: tuple[dict[str, tuple[Array, Array | None]], dict[str, tuple[Array, Array | None]]] | None = None
    #: The test split, normalised with the training statistics: never seen by the search.
    x_test: NDArray[np.float32] | None = None
    y_test: Array | None = None
    #: A model with several inputs or outputs: the test split's arrays by Keras name.
    named_test: tuple[dict[str, Array], dict[str, Array]] | None = None
    #: The test split for people: "180 rows held out by data.test_split".
    test_source: str = ""
    #: Cross-validation: each fold's (training rows, held-out rows), indices into the training
    #: rows; how each fold normalises again (`data.normalize`), and which named inputs it does.
    folds: tuple[Fold, ...] | None = None
    normalize: str = "none"
    normalized: frozenset[str] = frozenset()

    def fold(self, k: int) -> Dataset:
        """Fold `k` as a train/validation `Dataset`, normalised with its own training rows' statistics."""
        assert self.folds is not None
        train, held = self.folds[k]
        x_train, x_val, _ = _normalize(self.normalize, self.x_train[train], self.x_train[held])
        if self.y_train is self.x_train:  # reconstruction: the target is the input
            y_train, y_val = x_train, x_val
        else:
            y_train, y_val = self.y_train[train], self.y_train[held]
        named: tuple[dict[str, tuple[Array, Array | None]], dict[str, tuple[Array, Array | None]]] | None = (
            None
        )
        if self.named is not None:
            inputs: dict[str, tuple[Array, Array | None]] = {}
            for name, (rows, _) in self.named[0].items():
                if rows is self.x_train:
                    inputs[name] = (x_train, x_val)
                elif name in self.normalized:
                    inputs[name] = _normalize(self.normalize, rows[train], rows[held])[:2]
                else:  # encoded columns (ids, one-hot rows, text) are not normalised
                    inputs[name] = (rows[train], rows[held])
            outputs: dict[str, tuple[Array, Array | None]] = {
                name: (rows[train], rows[held]) for name, (rows, _) in self.named[1].items()
            }
            named = (inputs, outputs)
        return replace(
            self, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, named=named, folds=None
        )

    @property
    def has_validation(self) -> bool:
        return self.x_val is not None

    def counts(self) -> tuple[int, int, int]:
        """Rows in the training, validation and test splits (0 for one that is absent)."""
        val, test = (0 if a is None else len(a) for a in (self.x_val, self.x_test))
        return len(self.x_train), val, test

    def balanced_weights(self) -> dict[int, float]:
        """`fit.class_weight: balanced` from the training labels."""
        return balanced_class_weights(self.y_train)

    def inputs(self, validation: bool = False) -> Array | dict[str, Array | None] | None:
        """What `fit` takes as x: the array, or the arrays by input name."""
        if self.named is None:
            return self.x_val if validation else self.x_train
        return {k: v[validation] for k, v in self.named[0].items()}

    def targets(self, validation: bool = False) -> Array | dict[str, Array | None] | None:
        """What `fit` takes as y: the labels, or the labels by output name."""
        if self.named is None or len(self.named[1]) <= 1:
            # One output (named or not) is one tensor in Keras, so y is its array, not a dict.
            return self.y_val if validation else self.y_train
        return {k: v[validation] for k, v in self.named[1].items()}

    def test_inputs(self) -> Array | dict[str, Array] | None:
        """What `evaluate` takes as x for the test split."""
        return self.x_test if self.named_test is None else self.named_test[0]

    def test_targets(self) -> Array | dict[str, Array] | None:
        """What `evaluate` takes as y for the test split."""
        if self.named_test is None or len(self.named_test[1]) <= 1:
            return self.y_test
        return self.named_test[1]


def inspect(raw: Raw, data: DataSpec, seed: int, num_classes: int | None) -> DataInfo:
    """`ktrun check`'s view of a source's arrays: the run's own validation of the rows it would use.

    Arrays the source did not read (larger than the check's budget) are described by their shape
    only. `num_classes` is what the run will be given.
    """
    try:
        valid = validate(raw, data, None, num_classes, seed)
    except DataError as e:
        return DataInfo(None, num_classes, e.problems)
    want = Expect.of(data, num_classes)
    labels = valid.labels
    classes = labels.classes if labels is not None and labels.classes is not None else num_classes
    stored = raw.y_shape
    target = want.target_of(stored[1:]) if stored is not None and want.reads_y else None
    # The folds split all but the test split (they replace the validation split).
    fit_rows = valid.n_train + valid.n_val
    ids = labels.values[:fit_rows] if labels is not None and labels.values is not None else None
    class_rows = smallest_class(ids, stratifies(data))
    return DataInfo(raw.x_shape[1:], classes, valid.problems, target, class_rows=class_rows)


@dataclass
class _Valid:
    """The rows the search uses (`order`), as numbers, and everything wrong with them."""

    order: NDArray[np.intp]
    x: NDArray[np.float32] | None
    labels: Labels | None  # None: y not read, or not needed (reconstruction)
    problems: list[Problem]
    n_val: int = 0
    n_test: int = 0  # the test split: the last `n_test` of `order`

    @property
    def n_train(self) -> int:
        return len(self.order) - self.n_val - self.n_test


def validate(
    raw: Raw, data: DataSpec, input_shape: tuple[int, ...] | None, num_classes: int | None, seed: int
) -> _Valid:
    """Shuffle, limit and check every row the search will use (x and y only if they were read)."""
    n = raw.x_shape[0]
    want = Expect.of(data, num_classes)
    y = raw.y if want.reads_y else None
    if y is not None and len(y) != n:
        raise DataError(
            [
                pb.error(
                    "data-length-mismatch",
                    raw.y_path,
                    f"x has {n} rows but y has {len(y)}",
                    "x and y need one row per sample, in the same order",
                )
            ]
        )
    reading = raw.x is not None or y is not None
    order = _rows(n, data, seed)[0] if reading else np.arange(0)
    used = min(n, data.limit) if data.limit is not None else n
    n_test, n_val = split_sizes(used, data)
    problems = split_problems(n, used, data)
    x: NDArray[np.float32] | None = None
    if raw.x is not None:
        x, x_problems = check_x(raw, raw.x[order], order, input_shape)
        problems += x_problems
    labels: Labels | None = None
    if y is not None:
        labels = check_y(y[order], order, want, raw.y_path, raw.row)
        problems += labels.problems
    valid = _Valid(order, x, labels, problems, n_val, n_test)
    return _hold_out(valid, want) if n_test else valid


def test_rows(ids: Array | None, n: int, n_test: int) -> NDArray[np.intp]:
    """Which of `n` shuffled rows form the test split: with one class id per row, each class in
    proportion (largest remainders make up the total), its first rows in the shuffled order;
    otherwise (no ids, multi-hot, per step, regression) the first `n_test` rows."""
    if ids is None or ids.ndim != 1 or ids.dtype.kind not in "iu" or len(ids) != n:
        return np.arange(n_test, dtype=np.intp)
    classes, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    quota = counts * (n_test / n)
    take = np.floor(quota).astype(np.int64)
    short = n_test - int(take.sum())
    if short > 0:  # largest fractional parts first; ties to the larger class, then the lower id
        rank = np.lexsort((np.arange(len(classes)), -counts, -(quota - take)))
        take[rank[:short]] += 1
    seen = np.zeros(len(classes), dtype=np.int64)
    chosen = np.zeros(n, dtype=bool)
    for i, c in enumerate(inverse):
        if seen[c] < take[c]:
            chosen[i] = True
            seen[c] += 1
    return np.flatnonzero(chosen).astype(np.intp)


def _hold_out(valid: _Valid, want: Expect) -> _Valid:
    """The rows reordered so that the test split comes last, the rest in their shuffled order."""
    n = len(valid.order)
    labels = valid.labels
    ids = labels.values if labels is not None and want.classifies and want.labels != "multi_hot" else None
    test = test_rows(ids, n, valid.n_test)
    keep = np.ones(n, dtype=bool)
    keep[test] = False
    moved = np.concatenate([np.flatnonzero(keep), test]).astype(np.intp)
    if labels is not None and labels.values is not None:
        labels = replace(labels, values=labels.values[moved])
    x = valid.x[moved] if valid.x is not None else None
    return replace(valid, order=valid.order[moved], x=x, labels=labels)


def _rows(n: int, data: DataSpec, seed: int) -> tuple[NDArray[np.intp], int]:
    """The rows the search uses, in its order (shuffled, limited), and how many of the last
    are the validation rows."""
    used = min(n, data.limit) if data.limit is not None else n
    order = np.random.default_rng(seed).permutation(n)[:used]
    return order, round(used * data.validation_split) if data.validation_split > 0 else 0


def describe_table(source: DataSource, data: DataSpec, seed: int, arrays: Arrays, budget: int) -> DataInfo:
    """`ktrun check`'s view of a csv feeding named inputs: the run's layout of its columns, its
    validation of the numeric ones, and each categorical column's vocabulary, learnt from the
    training rows as the run learns it."""
    known = source.known(data)
    try:
        raw = source.load(data, budget)
        table = columns.table_of(data, arrays, raw)
    except DataError as e:
        return DataInfo(known.input_shape, known.num_classes, e.problems)
    assert table is not None and raw.x is not None
    info = inspect(numeric_raw(raw, table), data, seed, known.num_classes)
    order, n_val = _rows(raw.x_shape[0], data, seed)
    train = raw.x[order[: len(order) - n_val]]
    vocabs = {i.name: columns.vocabulary(i, train[:, i.columns[0]]) for i in table if i.kind == "categorical"}
    found = [columns.constant(i, vocabs[i.name]) for i in table if i.name in vocabs]
    info.problems += [*columns.unread(table, raw.columns), *(p for p in found if p is not None)]
    shapes = {i.name: i.shape for i in table}
    info.arrays = {f.array: shapes[f.name] for f in arrays.inputs if f.name in shapes}
    info.columns = columns.describe(table, vocabs)
    info.vocabularies = {name: len(v.values) + 1 for name, v in vocabs.items()}
    return info


def prepare(
    raw: Raw,
    data: DataSpec,
    input_shape: tuple[int, ...],
    num_classes: int | None,
    seed: int,
    arrays: Arrays | None = None,
    extras: dict[str, Array] | None = None,
    table: Sequence[ColumnInput] | None = None,
    test: Raw | None = None,
    folds: int | None = None,
) -> Dataset:
    """The search's arrays, or one `DataError` listing everything wrong with the rows it would use.

    `table`: a csv's columns laid out as named inputs (`ktrun.data.columns`); x is then the
    numeric block, validated as numbers, and every input's arrays come from the table. `folds`:
    cross-validation, whose folds replace the validation split."""
    if folds is not None:
        data = data.model_copy(update={"validation_split": 0.0})
    cells = raw.x
    if table is not None:
        raw = numeric_raw(raw, table)
    valid = validate(raw, data, input_shape if table is None else None, num_classes, seed)
    n, used = raw.x_shape[0], len(valid.order)
    n_train, n_val, n_test = valid.n_train, valid.n_val, valid.n_test
    fit_end = n_train + n_val
    named = _named(raw, data, valid, arrays, extras or {}) if arrays is not None and table is None else None
    labelled = valid.labels.values if valid.labels is not None else None
    stratified = folds is not None and stratifies(data) and labelled is not None
    ids = labelled[:n_train] if stratified and labelled is not None else None
    if folds is not None and not valid.problems:
        valid.problems.extend(fold_problems(folds, n_train, smallest_class(ids, stratified), stratified))
    if valid.problems:
        raise DataError(valid.problems)
    split = make_folds(ids, n_train, folds, seed) if folds is not None else None
    cv: dict[str, Any] = {}
    if split is not None:
        normalized = [i.name for i in table or () if i.kind == "numeric"]
        normalized += [f.name for f in arrays.inputs] if arrays is not None and table is None else []
        cv = {"folds": split, "normalize": data.normalize, "normalized": frozenset(normalized)}
    x, labels = valid.x, valid.labels
    assert x is not None  # no problems means every check passed (and the run reads everything)
    x_test_raw = x[fit_end:] if n_test else None
    y_test_raw: Array | None = None
    test_source = f"{row_count(n_test)} held out by data.test_split" if n_test else ""
    want = Expect.of(data, num_classes)
    if test is not None:  # a test split from elsewhere: checked against what the training rows are
        classes_seen = labels.classes if labels is not None else num_classes
        x_test_raw, y_test_raw = check_test(test, data, input_shape, classes_seen)
        test_source = test.describe(test.x_shape[0], test.x_shape[0])
    x_train, x_val, x_test = _normalize(
        data.normalize, x[:n_train], x[n_train:fit_end] if n_val else None, x_test_raw
    )
    told: tuple[Problem, ...] = ()
    if table is not None and cells is not None:
        fed, vocabs = columns.encode(table, cells[valid.order], x, n_train, n_val)
        for i in table:
            if i.kind == "numeric":
                fed[i.name] = _normalize(data.normalize, *fed[i.name])[:2]
        named = [{k: (v[0], v[1], None) for k, v in fed.items()}, {}]
        found = [columns.constant(i, vocabs[i.name]) for i in table if i.name in vocabs]
        told = (*columns.unread(table, raw.columns), *(p for p in found if p is not None))
    if labels is None:  # reconstruction: the target is the input, normalised the same way
        return Dataset(
            x_train, x_train, x_val, x_val, input_shape, None, raw.describe(n, used),
            x_test=x_test, y_test=x_test, test_source=test_source, **cv,
        )  # fmt: skip
    assert labels.values is not None
    y = encode(labels, want)
    classes = labels.classes
    warnings = told + (_missing_classes(labels.values[:n_train], classes, data.labels) if classes else ())
    y_val = y[n_train:fit_end] if n_val else None
    y_test = y_test_raw if test is not None else (y[fit_end:] if n_test else None)
    named_test: tuple[dict[str, Array], dict[str, Array]] | None = None
    if named is not None and arrays is not None:  # the first input and output, first
        tests = [{k: v[2] for k, v in part.items() if v[2] is not None} for part in named]
        for feed in arrays.inputs[:1] if table is None else ():
            named[0] = {feed.name: (x_train, x_val, x_test), **named[0]}
            tests[0] = {feed.name: x_test, **tests[0]} if x_test is not None else tests[0]
        for feed in arrays.outputs[:1]:
            named[1] = {feed.name: (y[:n_train], y_val, y_test), **named[1]}
            tests[1] = {feed.name: y_test, **tests[1]} if y_test is not None else tests[1]
        named_test = (tests[0], tests[1]) if x_test is not None else None
    pairs = [{k: (v[0], v[1]) for k, v in part.items()} for part in named] if named is not None else None
    return Dataset(
        x_train=x_train,
        y_train=y[:n_train],
        x_val=x_val,
        y_val=y_val,
        input_shape=input_shape,
        num_classes=classes,
        source=raw.describe(n, used),
        warnings=warnings,
        named=(pairs[0], pairs[1]) if pairs is not None else None,
        x_test=x_test,
        y_test=y_test,
        named_test=named_test,
        test_source=test_source,
        **cv,
    )


def numeric_raw(raw: Raw, table: Sequence[ColumnInput]) -> Raw:
    """A csv's `Raw` with x cut to the columns its numeric inputs read: the ones that must be numbers."""
    assert raw.x is not None  # a csv is always read
    return replace(raw, x=raw.x[:, columns.numeric_block(table)])


def check_test(
    test: Raw, data: DataSpec, input_shape: tuple[int, ...], classes: int | None
) -> tuple[NDArray[np.float32], Array | None]:
    """A test split from its own file or arrays, validated as the training rows are: the same
    per-sample shape, finite numbers, and labels the training rows' classes cover."""
    rows = np.arange(test.x_shape[0], dtype=np.intp)
    assert test.x is not None
    x, problems = check_x(test, test.x, rows, input_shape)
    want = Expect.of(data, classes)
    y: Array | None = None
    if want.reads_y and test.y is not None:
        if len(test.y) != len(rows):
            problems.append(
                pb.error(
                    "data-length-mismatch",
                    test.y_path,
                    f"the test split's x has {len(rows)} rows but its y has {len(test.y)}",
                    "x and y need one row per sample, in the same order",
                )
            )
        else:
            labels = check_y(test.y, rows, want, test.y_path, test.row)
            problems += labels.problems
            if labels.values is not None and not labels.problems:
                y = encode(labels, want)
    if problems:
        raise DataError([replace(p, message=f"test split: {p.message}") for p in problems])
    assert x is not None
    return x, y


def encode(labels: Labels, want: Expect) -> Array:
    """Valid labels as the loss takes them: ids, one-hot rows (per step too) or as they are."""
    values = labels.values
    assert values is not None and (labels.classes is not None or not want.classifies)
    if want.classifies and want.labels == "one_hot" and labels.classes is not None:
        one_hot: Array = np.eye(labels.classes, dtype=np.float32)[values]
        return one_hot
    return values


def _named(
    raw: Raw, data: DataSpec, valid: _Valid, arrays: Arrays, extras: dict[str, Array]
) -> list[dict[str, tuple[Array, Array | None, Array | None]]]:
    """The extra arrays in the search's row order, split like x and y (training, validation,
    test); extra inputs normalised with their own training statistics. Problems are added to
    `valid.problems`."""
    n_train, n_val, n_test = valid.n_train, valid.n_val, valid.n_test
    fit_end = n_train + n_val
    out: list[dict[str, tuple[Array, Array | None, Array | None]]] = [{}, {}]
    for feed in arrays.extras:
        rows = extras[feed.array][valid.order]
        if feed.role == "output" and rows.dtype.kind in "iub":
            numbers: Array | None = rows.astype(np.int64)
        else:
            numbers, problems = as_numbers(rows, feed.array, feed.where, valid.order, raw.row)
            valid.problems.extend(problems)
        if numbers is None:
            continue
        train, val = numbers[:n_train], (numbers[n_train:fit_end] if n_val else None)
        test = numbers[fit_end:] if n_test else None
        if feed.role == "input":
            train, val, test = _normalize(data.normalize, train, val, test)
        out[feed.role == "output"][feed.name] = (train, val, test)
    return out


def _missing_classes(values: Array, classes: int, labels: str) -> tuple[Problem, ...]:
    """Not an error (small or limited data sets often lack a class), but the model can never learn it.

    `values`: class ids (per sample or per step), or multi-hot rows (a label no row has)."""
    if labels == "multi_hot":
        present = set(np.flatnonzero(values.reshape(-1, classes).any(axis=0)).tolist())
    else:
        present = {int(i) for i in np.unique(values)}
    missing = sorted(set(range(classes)) - present)
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
    how: str,
    train: NDArray[np.float32],
    val: NDArray[np.float32] | None,
    test: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None, NDArray[np.float32] | None]:
    """Statistics come from the training rows only, so nothing about the validation or test rows
    leaks in."""
    if how == "none":
        return train, val, test
    if how == "scale":
        peak = float(np.abs(train).max()) if train.size else 0.0
        factor = np.float32(peak if peak > 0 else 1.0)
        return (
            train / factor,
            (val / factor if val is not None else None),
            (test / factor if test is not None else None),
        )
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    # Constant features (std below float32 resolution) are only centred: dividing would amplify rounding.
    std = np.where(std <= np.finfo(np.float32).eps * np.maximum(1.0, np.abs(mean)), 1.0, std)
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    return (
        (train - mean32) / std32,
        (val - mean32) / std32 if val is not None else None,
        (test - mean32) / std32 if test is not None else None,
    )


def balanced_class_weights(y: NDArray[Any]) -> dict[int, float]:
    """`fit.class_weight: balanced`: n / (classes × count) per class present in the training
    labels (sparse ids or one-hot rows), as scikit-learn's "balanced" computes it."""
    ids = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(-1).astype(np.int64)
    classes, counts = np.unique(ids, return_counts=True)
    return {int(c): float(len(ids) / (len(classes) * n)) for c, n in zip(classes, counts, strict=True)}
