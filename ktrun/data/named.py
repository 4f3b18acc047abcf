"""Models with several inputs or outputs: each reads its own array of an .npz, by name.

The first input's and the first output's arrays take the places of `data.x_key` and
`data.y_key`, so they get every check a one-input model's data gets (shape, numbers, labels
against the loss). The other arrays (`extras`) are read from the same file, must have one row
per sample, and are shuffled, limited and split in the same order; extra inputs are normalised
like the first, with their own training statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec, ModelSpec

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ktrun.data.files import NpyHeader, Npz

    Array = NDArray[Any]


@dataclass(frozen=True)
class Feed:
    """One array the model reads or is scored against: whose it is, and where it is configured."""

    role: str  # "input" or "output"
    name: str  # the model input's name or the output layer's name (Keras' keys for fit)
    array: str
    where: KeyPath
    #: csv: the numeric columns an input lists (`model.inputs.<name>.columns`).
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arrays:
    inputs: tuple[Feed, ...]
    outputs: tuple[Feed, ...]

    @property
    def extras(self) -> tuple[Feed, ...]:
        return (*self.inputs[1:], *self.outputs[1:])


def arrays_of(model: ModelSpec) -> Arrays | None:
    """The arrays of a model that names its inputs or outputs (None: one x and one y)."""
    named_outputs = len(model.outputs) > 1 or any(o.target for o in model.outputs)
    if not model.inputs and not named_outputs:
        return None
    inputs = tuple(
        Feed("input", n, i.array or n, ("model", "inputs", n, "array"), tuple(i.columns or ()))
        for n, i in model.inputs.items()
    )
    outputs = tuple(
        Feed("output", o.layer, o.target or o.layer, ("model", "outputs", k, "target"))
        for k, o in enumerate(model.outputs)
    )
    return Arrays(inputs, outputs)


def primary(data: DataSpec, arrays: Arrays | None) -> DataSpec:
    """`data` with x_key/y_key naming the first input's and the first output's arrays."""
    if arrays is None:
        return data
    update = {}
    if arrays.inputs:
        update["x_key"] = arrays.inputs[0].array
    if arrays.outputs:
        update["y_key"] = arrays.outputs[0].array
    return data.model_copy(update=update)


def needs_npz(data: DataSpec, arrays: Arrays | None) -> DataError | None:
    """Named arrays come from an .npz; a csv feeds named inputs from its columns
    (`ktrun.data.columns`) and one output; other sources hold one x and one y."""
    if arrays is None or data.source == "npz":
        return None
    if data.source == "csv" and not csv_outputs(arrays):
        return None
    names = ", ".join(f.array for f in (*arrays.inputs, *arrays.outputs))
    return DataError(
        [
            pb.error(
                "data-arrays-need-npz",
                ("data", "source"),
                f"the model reads named arrays ({names}) "
                f"but data.source is {data.source}, which holds one x and one y",
                "use data.source: npz with one array per model input and output (numpy.savez(path, "
                "image=..., meta=..., label=...))",
            )
        ]
    )


def csv_outputs(arrays: Arrays) -> bool:
    """Whether the model wants labels a csv does not name: several outputs, or a `target`."""
    return len(arrays.outputs) > 1 or any(f.array != f.name for f in arrays.outputs)


def test_split_problems(data: DataSpec, arrays: Arrays | None) -> list[Problem]:
    """Where the test split comes from, when the settings disagree: one source of it, and a
    `data.test_path` only for a source that reads files and has no test set of its own."""
    from ktrun.data.sources import SOURCES

    where: KeyPath = ("data", "test_path")
    source = SOURCES.get(data.source)
    if arrays is not None and data.source == "csv" and (data.test_split > 0 or data.test_path):
        return [
            pb.error(
                "data-option-conflict",
                where if data.test_path else ("data", "test_split"),
                "a csv whose columns feed named inputs has no test split yet (its categorical and "
                "text columns are encoded from the training rows alone)",
                "remove the test split (and final.retrain), or give the inputs as arrays of an .npz",
            )
        ]
    if not data.test_path or source is None:
        return []
    if data.test_split > 0:
        return [
            pb.error(
                "data-option-conflict",
                where,
                f"data.test_path and data.test_split ({data.test_split}) both set the test split",
                "keep one: data.test_path for a test file of your own, or data.test_split to hold "
                "rows out of data.path",
            )
        ]
    if "path" not in source.keys:
        return [
            pb.error(
                "data-option-conflict",
                where,
                f"data.source {data.source} reads no file, so data.test_path has nothing to match",
                f"use data.test_split (e.g. 0.1) to hold {data.source}'s rows out for the test split",
            )
        ]
    if source.own_test(data) is not None:
        return [
            pb.error(
                "data-option-conflict",
                where,
                f"data.source {data.source} has its own test set (x_test, y_test), so data.test_path "
                "is not read",
                "remove data.test_path (or set data.test_split to hold rows out of x_train instead)",
            )
        ]
    if arrays is not None:
        return [
            pb.error(
                "data-option-conflict",
                where,
                "the model reads several named arrays; a test file is read for one x and one y only",
                "use data.test_split to hold rows of every array out for the test split",
            )
        ]
    return []


def read_extras(data: DataSpec, arrays: Arrays, rows: int) -> dict[str, Array]:
    """The extra arrays by array name, each checked to hold one row per sample."""
    with _npz(data) as npz:
        return {f.array: npz.read(h, f.where) for f, h in _extra_headers(npz, arrays, rows)}


def shapes_of(data: DataSpec, arrays: Arrays) -> dict[str, tuple[int, ...]]:
    """`ktrun check`'s view, from headers only: every named array's per-sample shape, the extras
    checked as the run checks them (present, one row per sample of x)."""
    with _npz(data) as npz:
        rows = npz.header(data.x_key, ("data", "x_key")).shape[0]
        _extra_headers(npz, arrays, rows)
        held = set(npz.arrays)
        feeds = [f for f in (*arrays.inputs, *arrays.outputs) if f.array in held]
        return {f.array: npz.header(f.array, f.where).shape[1:] for f in feeds}


@contextmanager
def _npz(data: DataSpec) -> Iterator[Npz]:
    from ktrun.data.files import Npz, open_data
    from ktrun.data.sources.npz import HINT

    assert data.path is not None
    with open_data(data.path, HINT) as (path, fh):
        yield Npz(path, fh, HINT)


def _extra_headers(npz: Npz, arrays: Arrays, rows: int) -> list[tuple[Feed, NpyHeader]]:
    """The extras' headers, each array present and with `rows` rows (else one `DataError`)."""
    from ktrun.data.files import shown_path

    npz.require({f.array: f.where for f in arrays.extras})
    out = []
    for feed in arrays.extras:
        header = npz.header(feed.array, feed.where)
        found = header.shape[0] if header.shape else "no"
        if found != rows:
            raise DataError(
                [
                    pb.error(
                        "data-length-mismatch",
                        feed.where,
                        f"array '{feed.array}' in {shown_path(npz.path)} has "
                        f"{found} rows, but the first input's has {rows}",
                        "every array the model reads needs one row per sample, in the same order",
                    )
                ]
            )
        out.append((feed, header))
    return out
