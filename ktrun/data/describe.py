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
from ktrun.config.provenance import KeyPath
from ktrun.data.columns import misplaced
from ktrun.data.named import Arrays, needs_npz, primary, shapes_of, test_split_problems
from ktrun.data.raw import DataError, DataInfo
from ktrun.data.sources import DataSource, source_for
from ktrun.data.sources.base import TEST_PATH, at_test_path
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
        info = DataInfo(known.input_shape, known.num_classes, [outside], known.target_shape)
    elif arrays is not None and data.source == "csv":
        from ktrun.data.prepare import describe_table  # numpy: only when a file is read

        info = describe_table(source, data, seed, arrays, CHECK_BUDGET)
    else:
        info = source.describe(data, seed, CHECK_BUDGET)
    if arrays is not None and not info.problems and outside is None and data.source != "csv":
        try:
            info.arrays = shapes_of(data, arrays)
        except DataError as e:
            info.problems.extend(e.problems)
    conflicts = test_split_problems(data, arrays)
    info.problems.extend(conflicts)
    if not conflicts:
        info.test = _test(data, source, info, roots)
    return info


def _test(data: DataSpec, source: DataSource, info: DataInfo, roots: tuple[Path, ...] | None) -> str:
    """The test split for the data line; a test file is read and checked as the run would
    (problems added to `info`), only inside the project and by its headers past the budget."""
    from ktrun.data.splits import row_count

    if data.test_split > 0:
        if info.rows is None:
            return f"{data.test_split:g} of the rows held out by data.test_split"
        from ktrun.data.splits import split_problems, split_sizes

        used = min(info.rows, data.limit) if data.limit is not None else info.rows
        found = {(p.code, p.path) for p in info.problems}  # a source that read its rows found them
        info.problems.extend(
            p for p in split_problems(info.rows, used, data) if (p.code, p.path) not in found
        )
        return f"{row_count(split_sizes(used, data)[0])} held out by data.test_split"
    own = source.own_test(data)
    if own is not None:
        what, rows = own
        return what + (f" ({row_count(rows)})" if rows is not None else "")
    if not data.test_path:
        return ""
    outside = _outside(data.test_path, roots, TEST_PATH)
    if outside is not None:
        info.problems.append(outside)
        return "data.test_path (not read by check)"
    if source.streamed:  # described as data.path is, by listing and headers, read whole (no split, no limit)
        whole = {"path": data.test_path, "validation_split": 0.0, "limit": None}
        listed = source.describe(data.model_copy(update=whole), 0, CHECK_BUDGET)
        info.problems.extend(at_test_path(p) for p in listed.problems if p.severity is pb.Severity.ERROR)
        if (
            listed.input_shape is not None
            and info.input_shape is not None
            and listed.input_shape != info.input_shape
        ):
            info.problems.append(_shape_problem(listed.input_shape, info.input_shape))
        return f"{row_count(listed.rows or 0)} from data.test_path"
    try:
        test = source.load_test(data, CHECK_BUDGET)
    except DataError as e:
        info.problems.extend(e.problems)
        return "data.test_path (unreadable)"
    assert test is not None
    rows = test.x_shape[0]
    if test.x is not None and info.input_shape is not None and not info.problems:
        from ktrun.data.prepare import check_test
        from ktrun.data.sources import source_for as _source

        try:
            if test.label_names:  # csv text labels: numbered as the training file numbers them
                test = source.train_labels(test, _source(data.source).load(data, CHECK_BUDGET))
            check_test(test, data, info.input_shape, info.num_classes)
        except DataError as e:
            info.problems.extend(at_test_path(p) for p in e.problems)
    elif info.input_shape is not None and test.x_shape[1:] != info.input_shape:
        info.problems.append(_shape_problem(test.x_shape[1:], info.input_shape))
    return f"{row_count(rows)} from data.test_path"


def _shape_problem(found: tuple[int, ...], want: tuple[int, ...]) -> Problem:
    return pb.error(
        "data-shape-mismatch",
        TEST_PATH,
        f"test split: each sample has shape {found} but the training rows' is {want}",
        "give a test file of the same format as data.path (same arrays or columns)",
    )


def _outside(
    path: str | None, roots: tuple[Path, ...] | None, key: KeyPath = ("data", "path")
) -> Problem | None:
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
        key,
        f"{clip(path, 160)} is outside the project, so `ktrun check` did not read it "
        "(the run reads and checks it before the first trial)",
        "keep data under the directory you run ktrun in to have check validate it, and set "
        "model.input_shape so shapes are checked without it",
    )


__all__ = ["CHECK_BUDGET", "DataInfo", "describe"]
