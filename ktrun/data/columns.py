"""csv tables with numeric, categorical and text columns, each group feeding a named model input.

`data.columns` says which columns are categorical or text (the others are numeric); `model.inputs`
says which input reads which columns: `columns: [...]` (numeric ones), or the one column of its
name (or `array`), or, for one input whose name is no column, every numeric column no other input
reads. A numeric input is (k,) float32, normalised with its own training statistics; a categorical
one (1,) int64 ids learnt from the training rows only (1..V by sorted value; 0 for a value the
training rows lack, and for a missing cell); a text one (1,) strings, for a TextVectorization
layer (adapted on the training split by the builder). Check and run both lay the table out here.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec, ModelSpec

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ktrun.data.named import Arrays
    from ktrun.data.raw import Raw

    Array = NDArray[Any]

Kind = Literal["numeric", "categorical", "text"]
#: The Keras dtype of a model input of each kind (`keras.Input(dtype=...)`).
DTYPES: dict[Kind, str] = {"numeric": "float32", "categorical": "int64", "text": "string"}
COLUMNS: KeyPath = ("data", "columns")
INPUTS_HINT = (
    "name one model input per categorical or text column, and one for the numeric ones: "
    "model.inputs: {numbers: {}, color: {}, review: {}}"
)
#: A missing categorical cell (csv's NA-like cells, read as "nan") is out of vocabulary.
MISSING = "nan"


@dataclass(frozen=True)
class ColumnInput:
    """One model input of a csv table: its kind and the feature columns (indices, names) it reads."""

    name: str
    kind: Kind
    columns: tuple[int, ...]
    names: tuple[str, ...]
    where: KeyPath

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.columns),) if self.kind == "numeric" else (1,)


def input_kinds(data: DataSpec, model: ModelSpec) -> dict[str, Kind]:
    """Each named input's kind, from the config alone (the builder's dtypes): what `layout`
    finds too, whenever the table checks out."""
    if data.source != "csv":
        return dict.fromkeys(model.inputs, "numeric")
    return {
        name: data.columns.get((given.columns or [given.array or name])[0], "numeric")
        for name, given in model.inputs.items()
    }


def misplaced(data: DataSpec, arrays: Arrays | None) -> DataError | None:
    """`data.columns` only means something to a csv, and its categorical and text columns only
    to a model with named inputs (one x cannot hold strings and ids beside numbers); named inputs
    of a csv need labels to split off."""
    if arrays is not None and data.source == "csv" and data.task == "reconstruction":
        return DataError(
            [
                pb.error(
                    "data-option-conflict",
                    ("model", "inputs"),
                    "a csv feeds named model inputs from its feature columns, but data.task is "
                    "reconstruction, which reads the whole table as one x",
                    "remove model.inputs (one input, every column), or set data.task",
                )
            ]
        )
    if not data.columns:
        return None
    if data.source != "csv":
        return DataError(
            [
                pb.error(
                    "data-option-conflict",
                    COLUMNS,
                    f"data.columns describes a csv's columns, but data.source is {data.source}",
                    "remove data.columns, or set data.source: csv",
                )
            ]
        )
    other = {c: k for c, k in data.columns.items() if k != "numeric"}
    if arrays is None and other:
        name, kind = next(iter(other.items()))
        return DataError(
            [
                pb.error(
                    "data-column-kind",
                    (*COLUMNS, name),
                    f"column '{_shown(name)}' is {kind}, which needs a model input of its own, but the "
                    "model has one input (model.inputs is unset)",
                    INPUTS_HINT,
                )
            ]
        )
    return None


def table_of(data: DataSpec, arrays: Arrays | None, raw: Raw) -> list[ColumnInput] | None:
    """A csv's layout for a model with named inputs (None: any other source or model)."""
    if arrays is None or data.source != "csv":
        return None
    return layout(data, arrays, raw.columns, raw.label_name)


def layout(data: DataSpec, arrays: Arrays, names: Sequence[str], label: str) -> list[ColumnInput]:
    """Which feature columns (`names`, the label's removed) feed which input, or one `DataError`
    with everything wrong (warnings about unread columns are raised only with errors; `unread`
    reports them)."""
    from ktrun.data.files import shown

    problems: list[Problem] = []
    index = {n: i for i, n in enumerate(names)}
    for name in data.columns:
        if name not in index:
            problems.append(_unknown(name, (*COLUMNS, name), names, label, "data.columns"))
    kind_of = {n: data.columns.get(n, "numeric") for n in names}
    out: list[ColumnInput] = []
    rest: list[str] = []
    for feed in arrays.inputs:
        given = feed.name
        where: KeyPath = ("model", "inputs", given, "columns")
        if feed.columns:
            bad = [
                _unknown(c, (*where, i), names, label, f"model.inputs.{given}.columns")
                for i, c in enumerate(feed.columns)
                if c not in index
            ]
            problems += bad
            other = [c for c in feed.columns if c in index and kind_of[c] != "numeric"]
            if other:
                kinds = ", ".join(f"'{shown(c, 30)}' is {kind_of[c]}" for c in other)
                problems.append(
                    pb.error(
                        "data-column-kind",
                        where,
                        f"input `{given}` lists numeric columns, but {kinds}",
                        f"give '{shown(other[0], 30)}' a model input of its own "
                        f"(model.inputs: {{{shown(other[0], 30)}: {{}}}}) and leave it out of `columns`",
                    )
                )
            if not bad and not other:
                cols = tuple(index[c] for c in feed.columns)
                out.append(ColumnInput(given, "numeric", cols, tuple(feed.columns), where))
        elif feed.array in index:
            kind = kind_of[feed.array]
            at: KeyPath = ("model", "inputs", given)
            out.append(ColumnInput(given, kind, (index[feed.array],), (feed.array,), at))
        else:
            rest.append(given)
    claimed = {c for i in out for c in i.names}
    left = tuple(n for n in names if kind_of[n] == "numeric" and n not in claimed)
    for k, given in enumerate(rest):
        at = ("model", "inputs", given)
        close = difflib.get_close_matches(given, list(names), n=1)
        if k > 0:
            problems.append(
                pb.error(
                    "data-column-unknown",
                    at,
                    f"model input `{given}` names no column, and `{rest[0]}` already takes the "
                    "numeric columns no other input reads",
                    (f"did you mean '{shown(close[0], 30)}'? " if close else "")
                    + f"set model.inputs.{given}.array to a column, or list its columns in "
                    f"model.inputs.{given}.columns",
                )
            )
        elif not left:
            problems.append(
                pb.error(
                    "data-column-unknown",
                    at,
                    f"model input `{given}` names no column and no numeric column is left for it",
                    (f"did you mean '{shown(close[0], 30)}'? " if close else "")
                    + "remove the input, or name a column in its `array`",
                )
            )
        else:
            out.append(ColumnInput(given, "numeric", tuple(index[n] for n in left), left, at))
    if problems:
        raise DataError(problems)
    position = {f.name: k for k, f in enumerate(arrays.inputs)}
    return sorted(out, key=lambda i: position[i.name])


def unread(layout: Sequence[ColumnInput], names: Sequence[str]) -> list[Problem]:
    """Columns no input reads are dropped: worth a word, since nothing else would say so."""
    from ktrun.data.files import shown

    read = {n for i in layout for n in i.names}
    dropped = [n for n in names if n not in read]
    if not dropped:
        return []
    listed = ", ".join(f"'{shown(n, 30)}'" for n in dropped[:5]) + (", ..." if len(dropped) > 5 else "")
    return [
        pb.warning(
            "data-column-unused",
            ("model", "inputs"),
            f"{len(dropped)} csv {'column is' if len(dropped) == 1 else 'columns are'} read by no "
            f"model input: {listed}",
            "list them in an input's `columns`, give them an input of their own, or drop them from the file",
        )
    ]


def numeric_block(layout: Sequence[ColumnInput]) -> list[int]:
    """The feature columns every numeric input reads, in the inputs' order (validated as numbers)."""
    return [c for i in layout if i.kind == "numeric" for c in i.columns]


@dataclass(frozen=True)
class Vocabulary:
    """A categorical column's values in the training rows, sorted: id i + 1 each, 0 for the rest."""

    column: str
    values: tuple[str, ...]

    def ids(self, cells: Array) -> Array:
        import numpy as np

        lookup = {v: i + 1 for i, v in enumerate(self.values)}
        return np.array([lookup.get(str(c), 0) for c in cells], dtype=np.int64).reshape(-1, 1)


def vocabulary(column: ColumnInput, cells: Array) -> Vocabulary:
    """Learnt from `cells`, the training rows' cells only; a missing cell is no value."""
    return Vocabulary(column.names[0], tuple(sorted({str(c) for c in cells} - {MISSING})))


def constant(column: ColumnInput, vocab: Vocabulary) -> Problem | None:
    """A categorical column with one value (or none) in the training rows tells the model nothing."""
    if len(vocab.values) > 1:
        return None
    from ktrun.data.files import shown

    held = f"only '{shown(vocab.values[0], 30)}'" if vocab.values else "no value"
    return pb.warning(
        "data-column-constant",
        (*COLUMNS, column.names[0]),
        f"categorical column '{shown(column.names[0], 30)}' has {held} in the training rows: "
        "it tells the model nothing",
        "drop the column (or its input), or use more rows (data.limit)",
    )


def describe(layout: Sequence[ColumnInput], vocabs: dict[str, Vocabulary]) -> str:
    """For check's data line: each input's columns and kind, e.g. `color categorical (3 values)`."""
    from ktrun.data.files import shown

    parts = []
    for i in layout:
        cols = ", ".join(shown(n, 30) for n in i.names[:4]) + (", ..." if len(i.names) > 4 else "")
        if i.kind == "categorical":
            v = vocabs.get(i.name)
            what = (
                f"categorical, {len(v.values)} values: ids 1-{len(v.values)}, 0 unseen"
                if v
                else "categorical"
            )
        else:
            what = i.kind
        parts.append(f"{i.name} ← {cols} ({what})")
    return "columns: " + "; ".join(parts)


def encode(
    layout: Sequence[ColumnInput],
    cells: Array,
    numbers: Array,
    n_train: int,
    n_val: int,
) -> tuple[dict[str, tuple[Array, Array | None]], dict[str, Vocabulary]]:
    """Every input's arrays, training rows then validation rows: `cells` are the feature cells
    and `numbers` the validated numeric block, both in the search's row order. Vocabularies come
    from the training rows only. Numeric inputs are left for the caller to normalise."""
    import numpy as np

    out: dict[str, tuple[Array, Array | None]] = {}
    vocabs: dict[str, Vocabulary] = {}
    at = 0
    for i in layout:
        if i.kind == "numeric":
            block = numbers[:, at : at + len(i.columns)]
            at += len(i.columns)
        elif i.kind == "categorical":
            column = cells[:, i.columns[0]]
            vocabs[i.name] = vocabulary(i, column[:n_train])
            block = vocabs[i.name].ids(column)
        else:
            column = cells[:, i.columns[0]]
            block = np.where(column == MISSING, "", column).astype(str).reshape(-1, 1)
        out[i.name] = (block[:n_train], block[n_train:] if n_val else None)
    return out, vocabs


def _unknown(name: str, where: KeyPath, names: Sequence[str], label: str, key: str) -> Problem:
    from ktrun.data.files import shown

    if name == label:
        return pb.error(
            "data-column-unknown",
            where,
            f"'{shown(name, 30)}' in {key} is the label column (data.label_column), not a feature",
            f"remove it from {key}",
        )
    close = difflib.get_close_matches(name, list(names), n=1)
    listed = ", ".join(shown(n, 30) for n in names[:20]) + (
        f", ... ({len(names)} in all)" if len(names) > 20 else ""
    )
    return pb.error(
        "data-column-unknown",
        where,
        f"{key} names column '{shown(name, 30)}', which the csv does not have (features: {listed})",
        (f"did you mean '{shown(close[0], 30)}'? " if close else "") + "use a name of the csv's header row",
    )


def _shown(name: str) -> str:
    from ktrun.data.files import shown

    return shown(name, 30)
