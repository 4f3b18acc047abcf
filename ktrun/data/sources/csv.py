"""`data.source: csv`: a utf-8 table with a header row; the label column by name or index.

Cells are read as text; features must parse as numbers unless `data.columns` makes them
categorical or text (`ktrun.data.columns` lays those out as named model inputs), labels may be text
(`setosa`) for classification, mapped to ids of their sorted names. Empty and NA-like cells are
missing values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ktrun.config.provenance import KeyPath
from ktrun.data.raw import Raw
from ktrun.data.sources.base import NO_SUPPLY, PATH, DataSource, Supply
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Array = NDArray[Any]

#: csv cells read as a missing value (NaN), so they are reported as "not finite" with an impute hint.
MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "null", "none"})


class CsvFile(DataSource):
    """The whole table is read, even by check (csv has no header that says how many rows follow)."""

    name = "csv"
    keys = ("path", "label_column", "columns")

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        import numpy as np

        from ktrun.data.files import CSV_HINT, open_data, read_csv, shown, shown_path

        with open_data(self.required_path(data), CSV_HINT) as (path, fh):
            table = read_csv(path, fh, data.label_column)
        rows, header, label = table.rows, table.header, table.label
        cells = np.char.strip(np.array(rows, dtype=str).reshape(len(rows), len(header)))
        cells = np.where(np.isin(np.char.lower(cells), list(MISSING_CELLS)), "nan", cells)  # widens the dtype
        if data.task == "reconstruction":  # autoencoders: every column is a feature and the target
            return Raw(cells, None, f"csv from {shown_path(path)}", None, PATH, PATH, table.lines)
        x = np.delete(cells, label, axis=1)
        y: Array = cells[:, label]
        note = ""
        if data.task == "classification":
            y, names = _class_ids(y)
            if names:
                shown_names = ", ".join(f"{shown(n, 30)}={i}" for i, n in enumerate(names[:10]))
                note = f"; labels {shown_names}{', ...' if len(names) > 10 else ''}"
        label_path: KeyPath = ("data", "label_column")
        features = tuple(h for i, h in enumerate(header) if i != label)
        raw = Raw(
            x,
            y,
            f"csv from {shown_path(path)}",
            None,
            PATH,
            label_path,
            table.lines,
            note,
            columns=features,
            label_name=header[label],
        )
        raw.label_names = names if data.task == "classification" else []
        return raw

    def train_labels(self, test: Raw, train: Raw) -> Raw:
        """Text labels are numbered by their sorted names in each file: the test file's are
        renumbered as the training file numbers them, and a name it lacks is an error."""
        import numpy as np

        from ktrun import problems as pb
        from ktrun.data.files import shown
        from ktrun.data.raw import DataError

        if not test.label_names or test.y is None:
            return test
        known = {n: i for i, n in enumerate(train.label_names)}
        unseen = [n for n in test.label_names if n not in known]
        if unseen:
            raise DataError(
                [
                    pb.error(
                        "data-label-range",
                        test.y_path,
                        f"the test split has labels the training rows do not: "
                        f"{', '.join(shown(n, 30) for n in unseen[:5])}",
                        "give the test file only classes the training file has",
                    )
                ]
            )
        ids = np.array([known[n] for n in test.label_names], dtype=np.float64)
        y = test.y.astype(np.float64)
        mapped = np.where(np.isnan(y), np.nan, ids[np.nan_to_num(y).astype(np.int64)])
        test.y = mapped
        return test


def _class_ids(y: Array) -> tuple[Array, list[str]]:
    """Numeric labels as numbers; text labels (`setosa`) as ids of their sorted names, missing as NaN."""
    import numpy as np

    try:
        return y.astype(np.float64), []
    except ValueError:
        pass
    names = sorted({str(v) for v in y if v != "nan"})
    ids = {name: float(i) for i, name in enumerate(names)}
    return np.array([ids.get(str(v), np.nan) for v in y], dtype=np.float64), names


SOURCE = CsvFile()
