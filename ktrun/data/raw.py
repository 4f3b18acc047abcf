"""What a data source hands over, to the run (`Raw`) and to `ktrun check` (`DataInfo`).

The contract between the per-source modules and the shared preparation. It imports no numpy, so
`ktrun check` on a built-in data set never loads it (arrays are only annotated here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ktrun.config.provenance import KeyPath
from ktrun.problems import KtrunError, Problem

if TYPE_CHECKING:
    from numpy.typing import NDArray


class DataError(KtrunError, ValueError):
    """The data cannot feed the model: raised before the first trial, with every problem found."""


@dataclass
class DataInfo:
    """What the checks know of the data without training: per-sample shape, classes, problems."""

    input_shape: tuple[int, ...] | None
    num_classes: int | None
    problems: list[Problem] = field(default_factory=list)
    #: Per-sample shape of the target as validated (`ktrun.data.target`): `()` for one class id,
    #: `(T,)` per time step, `(k,)` multi-hot, a regression target's own; None when unknown.
    target_shape: tuple[int, ...] | None = None
    #: Per-sample shapes of the source's named arrays (npz), for models with several inputs.
    arrays: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: csv with named inputs: which columns feed which input, and of what kind (check's data line).
    columns: str = ""
    #: csv: each categorical input's count of ids (its training values + 1, for unseen).
    vocabularies: dict[str, int] = field(default_factory=dict)
    #: Rows in the source (before `data.limit`), when known without reading everything.
    rows: int | None = None
    #: Rows of the rarest class among the rows the folds of `fit.cross_validation` split (one
    #: class id per sample); None when unknown. A count, not a description: not compared.
    class_rows: int | None = field(default=None, compare=False)
    #: The test split for people ("180 rows held out by data.test_split"); "" when there is none.
    test: str = ""


@dataclass
class Raw:
    """A source's arrays as loaded, with what is needed to word problems about them."""

    x: NDArray[Any] | None  # None: not read (larger than the check's budget)
    y: NDArray[Any] | None
    label: str  # "digits", "mnist from /path/mnist.npz"
    origin: str | None  # "scikit-learn", "keras.datasets"
    x_path: KeyPath  # the config key to fix for a problem with x ...
    y_path: KeyPath  # ... and with y
    lines: list[int] | None = None  # csv: the file line of each row
    note: str = ""  # e.g. how csv text labels were mapped to ids
    shape: tuple[int, ...] | None = None  # x's shape when x is not read
    y_stored: tuple[int, ...] | None = None  # y's shape when y is not read
    columns: tuple[str, ...] = ()  # csv: the header names of x's columns ...
    label_name: str = ""  # ... and of the label column
    #: csv: the text labels by id, as this file numbered them ([]: numeric labels or none).
    label_names: list[str] = field(default_factory=list)

    @property
    def x_shape(self) -> tuple[int, ...]:
        if self.x is not None:
            return tuple(int(d) for d in self.x.shape)
        assert self.shape is not None
        return self.shape

    @property
    def y_shape(self) -> tuple[int, ...] | None:
        if self.y is not None:
            return tuple(int(d) for d in self.y.shape)
        return self.y_stored

    def row(self, i: int) -> str:
        return f"row {i} (line {self.lines[i]})" if self.lines is not None else f"row {i}"

    def describe(self, rows: int, used: int) -> str:
        count = f"{rows} rows" + (f", {used} used" if used < rows else "")
        return f"{self.label} ({self.origin + ', ' if self.origin else ''}{count}){self.note}"
