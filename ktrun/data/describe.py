"""`ktrun check`'s entry to the data: its per-sample shape and classes, without TensorFlow.

The source named by `data.source` says what it knows (`ktrun.data.sources`): built-in data sets by
their known shapes, without reading anything; local files by the run's own reading and validation,
so `ktrun check` reports every problem the run would (exit 2 before any training), arrays larger
than `CHECK_BUDGET` only by their headers, so check stays fast on big files. A file outside the
project is not read at all (`_outside`), whatever the source.
"""

from __future__ import annotations

from pathlib import Path

from ktrun import problems as pb
from ktrun.data.columns import misplaced
from ktrun.data.named import Arrays, needs_npz, primary, shapes_of
from ktrun.data.raw import DataError, DataInfo
from ktrun.data.sources import source_for
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec

#: `ktrun check` reads and validates arrays up to this size; larger ones only by their headers.
CHECK_BUDGET = 64 << 20


def describe(
    data: DataSpec, seed: int = 0, roots: tuple[Path, ...] | None = None, arrays: Arrays | None = None
) -> DataInfo:
    """The data's shape and classes for the checks; a local file's problems as the run would find them.

    `roots`: where a data file may be read (None: anywhere, as a run does). `arrays`: the named
    arrays of a model with several inputs or outputs (the first input's and output's are checked
    as x and y; the others are described by their headers).
    """
    wrong = needs_npz(data, arrays) or misplaced(data, arrays)
    if wrong is not None:
        return DataInfo(None, data.num_classes, wrong.problems)
    data = primary(data, arrays)
    try:
        source = source_for(data.source)
    except DataError as e:
        return DataInfo(None, data.num_classes, e.problems)
    outside = _outside(data.path, roots) if "path" in source.keys else None
    if outside is not None:
        known = source.known(data)
        return DataInfo(known.input_shape, known.num_classes, [outside], known.target_shape)
    if arrays is not None and data.source == "csv":
        from ktrun.data.prepare import describe_table  # numpy: only when a file is read

        return describe_table(source, data, seed, arrays, CHECK_BUDGET)
    info = source.describe(data, seed, CHECK_BUDGET)
    if arrays is not None and not info.problems:
        try:
            info.arrays = shapes_of(data, arrays)
        except DataError as e:
            info.problems.extend(e.problems)
    return info


def _outside(path: str | None, roots: tuple[Path, ...] | None) -> Problem | None:
    """`ktrun check` runs on configs nobody vetted: it reads a data file only inside the project
    (the working directory or a config tree), after resolving `~`, `..` and symbolic links, so a
    config cannot make it read, and echo pieces of, `/etc/shadow` or `~/.ssh/id_rsa`."""
    if roots is None or not path:
        return None
    from ktrun.config.trust import clip, resolved_inside

    if any(resolved_inside(path, r) for r in roots):
        return None
    return pb.info(
        "data-file-not-read",
        ("data", "path"),
        f"{clip(path, 160)} is outside the project, so `ktrun check` did not read it "
        "(the run reads and checks it before the first trial)",
        "keep data under the directory you run ktrun in to have check validate it, and set "
        "model.input_shape so shapes are checked without it",
    )


__all__ = ["CHECK_BUDGET", "DataInfo", "describe"]
