"""What the data will look like (per-sample shape, classes) without loading it or TensorFlow.

Built-in sources have known shapes; local files are read only as far as their headers (the
`.npy` header inside an `.npz`, the first row of a csv), so `ktrun check` stays fast.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ktrun import problems as pb
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec

#: source → (per-sample shape as the model sees it, classes, file name in Keras' cache)
BUILTIN: dict[str, tuple[tuple[int, ...], int, str | None]] = {
    "digits": ((8, 8, 1), 10, None),
    "mnist": ((28, 28, 1), 10, "mnist.npz"),
    "fashion_mnist": ((28, 28, 1), 10, None),
    "cifar10": ((32, 32, 3), 10, None),
}
#: Keras-format local files: the arrays they must hold.
KERAS_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass
class DataInfo:
    input_shape: tuple[int, ...] | None
    num_classes: int | None
    problems: list[Problem] = field(default_factory=list)


def _npz_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Array shapes in an .npz from the .npy headers alone (no array is read)."""
    from numpy.lib import format as npformat

    shapes: dict[str, tuple[int, ...]] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.endswith(".npy"):
                continue
            with zf.open(name) as fh:
                version = npformat.read_magic(fh)
                header = (
                    npformat.read_array_header_1_0(fh)
                    if version == (1, 0)
                    else npformat.read_array_header_2_0(fh)
                )
            shapes[name[:-4]] = tuple(header[0])
    return shapes


def _image_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Keras image arrays come as (N, H, W) for grey images: the model sees (H, W, 1)."""
    per_sample = shape[1:]
    return (*per_sample, 1) if len(per_sample) == 2 else per_sample


def describe(data: DataSpec) -> DataInfo:
    path = Path(data.path).expanduser() if data.path else None
    here = ("data", "path")
    if data.source in BUILTIN:
        shape, classes, _ = BUILTIN[data.source]
        info = DataInfo(shape, classes)
        if path is None or data.source == "digits":
            return info
        if not path.is_file():
            info.problems.append(
                pb.warning(
                    "data-file-missing",
                    here,
                    f"{path} does not exist (yet)",
                    f"the run needs it: a Keras-format .npz with {', '.join(KERAS_NPZ_KEYS)}",
                )
            )
            return info
        try:
            shapes = _npz_shapes(path)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            info.problems.append(
                pb.error(
                    "data-file-unreadable",
                    here,
                    f"{path} is not a readable .npz: {e}",
                    f"give a Keras-format .npz with {', '.join(KERAS_NPZ_KEYS)}",
                )
            )
            return info
        missing = [k for k in KERAS_NPZ_KEYS[:2] if k not in shapes]
        if missing:
            info.problems.append(
                pb.error(
                    "data-file-keys",
                    here,
                    f"{path} has no {', '.join(missing)} (it holds {', '.join(sorted(shapes)) or 'nothing'})",
                    f"a Keras-format file holds {', '.join(KERAS_NPZ_KEYS)}; or use `data.source: npz`",
                )
            )
            return info
        info.input_shape = _image_shape(shapes["x_train"])
        return info
    if path is None:
        return DataInfo(
            None,
            data.num_classes,
            [
                pb.error(
                    "data-path-required",
                    here,
                    f"data.source '{data.source}' needs data.path",
                    f"set data.path to a .{data.source} file",
                )
            ],
        )
    if not path.is_file():
        return DataInfo(
            None,
            data.num_classes,
            [
                pb.warning(
                    "data-file-missing",
                    here,
                    f"{path} does not exist (yet); shapes cannot be checked",
                    "create the file before running, or set model.input_shape so shapes are checked",
                )
            ],
        )
    if data.source == "npz":
        return _describe_npz(data, path)
    return _describe_csv(data, path)


def _describe_npz(data: DataSpec, path: Path) -> DataInfo:
    here = ("data", "path")
    try:
        shapes = _npz_shapes(path)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        return DataInfo(
            None,
            data.num_classes,
            [
                pb.error(
                    "data-file-unreadable",
                    here,
                    f"{path} is not a readable .npz: {e}",
                    "check the file",
                )
            ],
        )
    missing = [k for k in (data.x_key, data.y_key) if k not in shapes]
    if missing:
        return DataInfo(
            None,
            data.num_classes,
            [
                pb.error(
                    "data-file-keys",
                    ("data", "x_key" if data.x_key in missing else "y_key"),
                    f"{path} has no array {', '.join(repr(m) for m in missing)} "
                    f"(it holds {', '.join(sorted(shapes)) or 'nothing'})",
                    "set data.x_key / data.y_key to the arrays' names",
                )
            ],
        )
    classes = data.num_classes
    if classes is None and data.task == "classification":
        import numpy as np

        with np.load(path) as z:
            y = z[data.y_key]
        if y.ndim == 2 and y.shape[1] > 1:
            classes = int(y.shape[1])
        elif y.size and np.issubdtype(y.dtype, np.integer):
            classes = int(y.max()) + 1
    return DataInfo(tuple(shapes[data.x_key][1:]), classes)


def _describe_csv(data: DataSpec, path: Path) -> DataInfo:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        labels = (
            [row[_label_index(data, header)] for row in reader if row]
            if (data.num_classes is None and data.task == "classification")
            else []
        )
    if not header:
        return DataInfo(
            None,
            data.num_classes,
            [pb.error("data-file-unreadable", ("data", "path"), f"{path} is empty", "check the file")],
        )
    try:
        _label_index(data, header)
    except (ValueError, IndexError):
        return DataInfo(
            None,
            data.num_classes,
            [
                pb.error(
                    "data-label-column",
                    ("data", "label_column"),
                    f"label column {data.label_column!r} is not in {path} (columns: {', '.join(header)})",
                    "set data.label_column to a column name or index",
                )
            ],
        )
    classes = data.num_classes
    if labels:
        try:
            classes = max(int(float(v)) for v in labels) + 1
        except ValueError:
            classes = len(set(labels))
    return DataInfo((len(header) - 1,), classes)


def _label_index(data: DataSpec, header: list[str]) -> int:
    if isinstance(data.label_column, int):
        header[data.label_column]
        return data.label_column % len(header)
    return header.index(data.label_column)
