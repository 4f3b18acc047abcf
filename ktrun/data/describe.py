"""What the data will look like (per-sample shape, classes) without TensorFlow.

Built-in sources have known shapes and are not read. Local files are read and validated by the
run's own code, so `ktrun check` reports every problem the run would (exit 2 before any training);
arrays larger than `CHECK_BUDGET` only by their headers, so check stays fast on big files.
"""

from __future__ import annotations

import os
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
#: `ktrun check` reads and validates arrays up to this size; larger ones only by their headers.
CHECK_BUDGET = 64 << 20


@dataclass
class DataInfo:
    input_shape: tuple[int, ...] | None
    num_classes: int | None
    problems: list[Problem] = field(default_factory=list)


def describe(data: DataSpec, seed: int = 0, roots: tuple[Path, ...] | None = None) -> DataInfo:
    """The data's shape and classes for the checks; a local file's problems as the run would find them.

    A local file is read by the run's own code (`ktrun.data.load.inspect_file`), so check and run cannot
    disagree about it; arrays over `CHECK_BUDGET` are left to the run, only their headers are read.
    """
    if data.source in BUILTIN and (not data.path or data.source == "digits"):
        shape, classes, _ = BUILTIN[data.source]
        return DataInfo(shape, classes)
    outside = _outside(data.path, roots)
    if outside is not None:
        known = BUILTIN.get(data.source)
        return (
            DataInfo(known[0], known[1], [outside]) if known else DataInfo(None, data.num_classes, [outside])
        )
    from ktrun.data.load import inspect_file  # numpy: only for local files

    if data.source in BUILTIN:  # a Keras-format copy of a built-in data set: its classes are known
        shape, classes, _ = BUILTIN[data.source]
        found = inspect_file(data, seed, CHECK_BUDGET, classes)
        return DataInfo(found.input_shape or shape, classes, found.problems)
    found = inspect_file(data, seed, CHECK_BUDGET, data.num_classes)
    return DataInfo(found.input_shape, found.num_classes, found.problems)


def _outside(path: str | None, roots: tuple[Path, ...] | None) -> Problem | None:
    """`ktrun check` runs on configs nobody vetted: it reads a data file only inside the project
    (the working directory or a config tree), after resolving `~`, `..` and symbolic links, so a
    config cannot make it read, and echo pieces of, `/etc/shadow` or `~/.ssh/id_rsa`."""
    if roots is None or not path:
        return None
    real = Path(os.path.realpath(os.path.expanduser(path)))
    if any(real.is_relative_to(os.path.realpath(r)) for r in roots):
        return None
    from ktrun.config.trust import clip

    return pb.info(
        "data-file-not-read",
        ("data", "path"),
        f"{clip(path, 160)} is outside the project, so `ktrun check` did not read it "
        "(the run reads and checks it before the first trial)",
        "keep data under the directory you run ktrun in to have check validate it, and set "
        "model.input_shape so shapes are checked without it",
    )
