"""`data.source: shards`: a directory of `.npz` files read one at a time, for data larger than memory.

Every shard holds the arrays `data.x_key` and `data.y_key` (one row per sample, the same per-sample
shapes and dtypes in every shard), as `numpy.savez` writes them; shards are taken in name order.
`ktrun check` lists the directory and reads each shard's .npy headers only (the labels too, within
the check's budget, for the classes). The run makes one pass before the first trial, one shard in
memory at a time: it validates every row it will use (naming the shard and row), measures the
training rows for `data.normalize` and counts classes; trials then read the shards as a `tf.data`
pipeline (`ktrun.runtime.streams`), so memory stays one shard deep whatever the data's size.

The split is made shard by shard: a seeded permutation of each shard's rows (seed, shard index)
holds its share out for the test split, then the validation split; the shares carry their
rounding from shard to shard, so the totals are those of an in-memory split of the same rows. It is
not stratified by class. `data.limit` takes the first rows in shard order.

The directory is hostile input like any data file (`ktrun.data.files`): entries are stat-ed before
they are opened, only regular files are read, the shard count is capped, and an array's size comes
from its header, checked against the bytes the zip holds.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError, DataInfo, Raw
from ktrun.data.sources.base import NO_SUPPLY, PATH, TEST_PATH, DataSource, Supply, at_test_path
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from ktrun.data.stream import ShardRows, StreamedDataset
    from ktrun.data.target import Expect

#: More .npz files than this in one directory is a mistake (or an attack), not a data set.
MAX_SHARDS = 10_000
#: Directory entries looked at, .npz or not, before giving up on listing it.
MAX_ENTRIES = 100_000
#: Shards with problems reported before the rest are left unread.
MAX_BAD_SHARDS = 5
SUFFIX = ".npz"
HINT = (
    "give a directory of .npz files, each written by numpy.savez with the arrays data.x_key / "
    "data.y_key name, the same per-sample shapes and dtypes in every one"
)
X_KEY: KeyPath = ("data", "x_key")
Y_KEY: KeyPath = ("data", "y_key")


@dataclass(frozen=True)
class Shard:
    """One shard as its .npy headers describe it: nothing of it has been read yet."""

    path: Path
    rows: int
    x: tuple[tuple[int, ...], str]  # per-sample shape and dtype
    y: tuple[tuple[int, ...], str] | None  # None: no labels read (reconstruction)


@dataclass(frozen=True)
class Listing:
    """A shards directory, listed and every shard's headers checked to agree."""

    directory: Path
    shards: tuple[Shard, ...]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def x_shape(self) -> tuple[int, ...]:
        return self.shards[0].x[0]

    @property
    def y(self) -> tuple[tuple[int, ...], str] | None:
        return self.shards[0].y

    def describe(self, used: int) -> str:
        from ktrun.data.files import shown_path

        count = f"{len(self.shards)} shards, {self.rows} rows" + (
            f", {used} used" if used < self.rows else ""
        )
        return f"shards from {shown_path(self.directory)} ({count})"


@dataclass
class ShardRaw(Raw):
    """A shard's rows as the row checks (`ktrun.data.validate`) see them, named by shard file."""

    shard: str = field(default="")

    def row(self, i: int) -> str:
        return f"row {i} of {self.shard}"


class Shards(DataSource):
    """Shape from the first shard's header; classes from `data.num_classes` or the labels (max + 1)."""

    name = "shards"
    keys = ("path", "x_key", "y_key")
    path_kind = "a directory of .npz shards"
    streamed = True

    def describe(self, data: DataSpec, seed: int, budget: int) -> DataInfo:
        """Headers only, and the labels the run will use when they fit in `budget` bytes (for the
        classes, and their problems as the run would name them)."""
        from ktrun.data.sources.npz import flat_shape
        from ktrun.data.splits import split_problems
        from ktrun.data.target import Expect

        try:
            listing = scan(data)
        except DataError as e:
            return DataInfo(None, data.num_classes, e.problems)
        want = Expect.of(data)
        used = used_rows(listing, data)
        problems = label_kind(listing, data, want) + split_problems(listing.rows, sum(used), data)
        stored = listing.y
        target = want.target_of(flat_shape((0, *stored[0]))[1:]) if stored is not None else None
        classes = data.num_classes
        if want.classifies and stored is not None and not problems:
            itemsize = _itemsize(stored[1])
            if sum(used) * itemsize * _prod(stored[0]) <= budget:
                found, problems = _labels(listing, data, used, want)
                classes = found if found is not None else classes
        return DataInfo(listing.x_shape, classes, problems, target, rows=listing.rows)

    def stream(
        self,
        data: DataSpec,
        input_shape: tuple[int, ...],
        num_classes: int | None,
        seed: int,
        supply: Supply,
        final: bool = False,
    ) -> StreamedDataset:
        """One pass over the shards, one in memory at a time: the split, every used row validated,
        the training rows' moments for `data.normalize`, and the classes counted per split."""
        from ktrun.data.target import Expect

        listing = scan(data)
        want = Expect.of(data, num_classes)
        problems = label_kind(listing, data, want)
        if listing.x_shape != input_shape:
            problems.append(
                pb.error(
                    "data-shape-mismatch",
                    X_KEY,
                    f"each sample has shape {listing.x_shape} but the model's input shape is {input_shape}",
                    f"set model.input_shape to {list(listing.x_shape)} (shards are streamed as stored), "
                    "or add a Reshape layer first",
                )
            )
        if problems:
            raise DataError(problems)
        return _Pass(listing, data, want, seed).run(input_shape)

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        raise NotImplementedError("shards are streamed (Shards.stream), never loaded whole")


# ---------------------------------------------------------------- listing and headers


def scan(data: DataSpec) -> Listing:
    """`data.path` listed and every shard's headers read and compared, or one `DataError` with
    every problem found (up to `MAX_BAD_SHARDS` shards)."""
    from ktrun.data.files import Npz, open_data, shown_path

    directory = Path(required(data)).expanduser()
    names = _list(directory)
    arrays = {data.x_key: X_KEY}
    reads_y = data.task != "reconstruction"
    if reads_y:
        arrays[data.y_key] = Y_KEY
    problems: list[Problem] = []
    shards: list[Shard] = []
    bad = 0
    for name in names:
        if bad >= MAX_BAD_SHARDS:
            problems.append(
                pb.info(
                    "data-file-unreadable",
                    PATH,
                    f"{MAX_BAD_SHARDS} shards have problems; the others were not read",
                    "fix these first",
                )
            )
            break
        path = directory / name
        try:
            _require_file(path)
            with open_data(str(path), HINT) as (opened, fh):
                npz = Npz(opened, fh, HINT)
                npz.require(arrays)
                headers = {key: npz.header(key, where) for key, where in arrays.items()}
        except DataError as e:
            problems.extend(e.problems)
            bad += 1
            continue
        hx = headers[data.x_key]
        hy = headers.get(data.y_key) if reads_y else None
        found = _header_problems(path, data, hx.shape, hy.shape if hy is not None else None)
        if found:
            problems.extend(found)
            bad += 1
            continue
        shard = Shard(
            path,
            hx.shape[0],
            (hx.shape[1:], hx.dtype.str),
            (hy.shape[1:], hy.dtype.str) if hy is not None else None,
        )
        if shards:
            mismatch = _disagrees(shards[0], shard, data)
            if mismatch is not None:
                problems.append(mismatch)
                bad += 1
                continue
        shards.append(shard)
    if problems:
        raise DataError(problems)
    if not shards:
        raise DataError(
            [
                pb.error(
                    "data-file-missing",
                    PATH,
                    f"{shown_path(directory)} holds no {SUFFIX} files",
                    f"put the shards there (numpy.savez writes files ending in {SUFFIX}), or point "
                    "data.path at the directory that holds them",
                )
            ]
        )
    return Listing(directory, tuple(shards))


def required(data: DataSpec) -> str:
    return SOURCE.required_path(data)


def _list(directory: Path) -> list[str]:
    """The names of the directory's `.npz` entries, sorted, within `MAX_ENTRIES` and `MAX_SHARDS`."""
    from ktrun.data.files import open_error, shown_path, unreadable

    try:
        mode = os.stat(directory).st_mode
    except OSError as e:
        raise open_error(directory, e, HINT) from None
    if not stat.S_ISDIR(mode):
        raise unreadable(
            directory,
            "is not a directory",
            "point data.path at the directory holding the .npz shards (data.source: npz reads one file)",
        )
    names: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for seen, entry in enumerate(entries, 1):
                if seen > MAX_ENTRIES:
                    raise DataError(
                        [
                            pb.error(
                                "data-file-too-large",
                                PATH,
                                f"{shown_path(directory)} holds more than {MAX_ENTRIES} entries, more "
                                "than ktrun lists",
                                "keep the shards in a directory of their own",
                            )
                        ]
                    )
                if entry.name.endswith(SUFFIX):
                    names.append(entry.name)
                    if len(names) > MAX_SHARDS:
                        raise DataError(
                            [
                                pb.error(
                                    "data-file-too-large",
                                    PATH,
                                    f"{shown_path(directory)} holds more than {MAX_SHARDS} .npz files, "
                                    "more shards than ktrun reads",
                                    "write fewer, larger shards (tens to hundreds of MB each)",
                                )
                            ]
                        )
    except OSError as e:
        raise open_error(directory, e, HINT) from None
    return sorted(names)


def _require_file(path: Path) -> None:
    """A shard is a regular file (a link to one is followed); anything else is named and refused."""
    from ktrun.data.files import kind_of, open_error, unreadable

    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise open_error(path, e, HINT) from None
    if stat.S_ISREG(mode):
        return
    raise unreadable(
        path,
        f"is {kind_of(mode)}, not a regular .npz file",
        f"every entry of data.path named *{SUFFIX} is read as a shard: move or rename it",
    )


def _header_problems(
    path: Path, data: DataSpec, x: tuple[int, ...], y: tuple[int, ...] | None
) -> list[Problem]:
    from ktrun.data.files import quoted, shown_path

    problems = []
    for shape, key, where in ((x, data.x_key, X_KEY), (y, data.y_key, Y_KEY)):
        if shape is not None and not shape:
            problems.append(
                pb.error(
                    "data-shape-mismatch",
                    where,
                    f"array {quoted(key)} in {shown_path(path)} is a single value, not one row per sample",
                    HINT,
                )
            )
    if not problems and y is not None and x[0] != y[0]:
        problems.append(
            pb.error(
                "data-length-mismatch",
                Y_KEY,
                f"{quoted(data.x_key)} has {x[0]} rows but {quoted(data.y_key)} has {y[0]}, in "
                f"{shown_path(path)}",
                "x and y need one row per sample, in the same order, in every shard",
            )
        )
    return problems


def _disagrees(first: Shard, shard: Shard, data: DataSpec) -> Problem | None:
    """The first difference of `shard`'s arrays from the first shard's (per-sample shape, dtype)."""
    from ktrun.data.files import quoted, shown, shown_path

    for mine, theirs, key, where in (
        (shard.x, first.x, data.x_key, X_KEY),
        (shard.y, first.y, data.y_key, Y_KEY),
    ):
        if mine is None or theirs is None or mine == theirs:
            continue
        what = "per-sample shape" if mine[0] != theirs[0] else "dtype"
        values = (mine[0], theirs[0]) if mine[0] != theirs[0] else (mine[1], theirs[1])
        return pb.error(
            "data-shard-mismatch",
            where,
            f"array {quoted(key)} in {shown_path(shard.path)} has {what} {shown(values[0])}, but in "
            f"{shown(first.path.name, 160)} (the first shard) {shown(values[1])}",
            "write every shard with the same per-sample shapes and dtypes (e.g. x as float32, y as int64)",
        )
    return None


# ---------------------------------------------------------------- the run's pass


class _Pass:
    """The run's one pass over the shards before the first trial."""

    def __init__(self, listing: Listing, data: DataSpec, want: Expect, seed: int) -> None:
        self.listing, self.data, self.want, self.seed = listing, data, want, seed
        self.problems: list[Problem] = []
        self.bad = 0

    def run(self, input_shape: tuple[int, ...]) -> StreamedDataset:
        import numpy as np

        from ktrun.data.splits import row_count, split_problems
        from ktrun.data.stream import Moments, StreamedDataset

        listing, data, want = self.listing, self.data, self.want
        used = used_rows(listing, data)
        problems = split_problems(listing.rows, sum(used), data)
        if problems:
            raise DataError(problems)
        tests = shares(used, data.test_split)
        vals = shares([n - t for n, t in zip(used, tests, strict=True)], data.validation_split)
        parts: tuple[list[tuple[str, NDArray[np.intp]]], ...] = ([], [], [])
        moments = Moments()
        counts: tuple[dict[int, int], dict[int, int]] = ({}, {})
        classes = want.num_classes
        for i, (shard, n) in enumerate(zip(listing.shards, used, strict=True)):
            if n == 0:
                break
            found = self.rows_of(shard, n, input_shape, want)
            if found is None:
                if self.bad >= MAX_BAD_SHARDS:
                    break
                continue
            x, labels = found
            rows = split(n, tests[i], vals[i], self.seed, i)
            if data.normalize != "none":
                moments.add(x[rows[0]])
            if labels is not None and labels.classes is not None:
                classes = max(classes or 0, labels.classes)
            ids = labels.values if labels is not None and self.one_id_each() else None
            for k, part in enumerate(rows):
                if len(part):
                    parts[k].append((str(shard.path), part))
                if ids is not None and k < 2:
                    present, n_of = np.unique(ids[part], return_counts=True)
                    for c, m in zip(present.tolist(), n_of.tolist(), strict=True):
                        counts[k][c] = counts[k].get(c, 0) + m
        if self.problems:
            raise DataError(self.problems)
        test, test_source = None, ""
        if data.test_path:
            test, test_source = self.test_path(input_shape, classes)
        elif parts[2]:
            test = self.part(parts[2])
            held = sum(len(r) for _, r in parts[2])
            test_source = f"{row_count(held)} held out by data.test_split, shard by shard"
        warnings: tuple[Problem, ...] = ()
        if classes is not None and self.one_id_each():
            from ktrun.data.prepare import _missing_classes

            seen = np.fromiter(counts[0], dtype=np.int64, count=len(counts[0]))
            warnings = _missing_classes(seen, classes, "sparse")
        return StreamedDataset(
            train=self.part(parts[0]),
            validation=self.part(parts[1]) if parts[1] else None,
            input_shape=input_shape,
            num_classes=classes if want.classifies else None,
            source=listing.describe(sum(used)),
            test=test,
            test_source=test_source,
            affine=moments.affine(data.normalize),
            class_counts=counts,
            warnings=warnings,
            reconstructs=not want.reads_y,
            one_hot=classes if self.encodes() else None,
        )

    def encodes(self) -> bool:
        """`data.labels: one_hot` over class ids as stored: the pipeline makes them one-hot rows."""
        y = self.listing.y
        return self.want.labels == "one_hot" and y is not None and len(y[0]) == self.want.label_rank()

    def one_id_each(self) -> bool:
        """One class id per sample (ids or one-hot rows): what class weights and counts read."""
        want = self.want
        return want.classifies and want.labels != "multi_hot" and not want.per_step

    def part(self, shards: list[tuple[str, NDArray[np.intp]]]) -> ShardRows:
        from ktrun.data.stream import ShardRows

        data, want, y = self.data, self.want, self.listing.y
        ids = want.classifies and (want.labels == "sparse" or self.encodes())
        return ShardRows(
            tuple(shards),
            data.x_key,
            data.y_key if want.reads_y else None,
            y[0] if y is not None and want.reads_y else (),
            "int64" if ids else "float32",
        )

    def rows_of(
        self, shard: Shard, n: int, input_shape: tuple[int, ...], want: Expect
    ) -> tuple[NDArray[np.float32], Any] | None:
        """A shard's first `n` rows as float32 and its labels, checked; None (problems noted) if bad."""
        import numpy as np

        from ktrun.data.files import Npz, open_data, shown
        from ktrun.data.validate import check_x

        data = self.data
        try:
            with open_data(str(shard.path), HINT) as (path, fh):
                npz = Npz(path, fh, HINT)
                x = npz.read(npz.header(data.x_key, X_KEY), X_KEY)[:n]
                y = npz.read(npz.header(data.y_key, Y_KEY), Y_KEY)[:n] if want.reads_y else None
        except DataError as e:  # changed since it was listed
            self.problems.extend(e.problems)
            self.bad += 1
            return None
        raw = ShardRaw(None, None, "", None, X_KEY, Y_KEY, shard=shown(shard.path.name, 160))
        numbers, problems = check_x(raw, x, np.arange(n, dtype=np.intp), input_shape)
        labels = _check_labels(y, shard, want) if y is not None else None
        problems += labels.problems if labels is not None else []
        if problems or numbers is None:
            self.problems.extend(problems)
            self.bad += 1
            return None
        return numbers, labels

    def test_path(self, input_shape: tuple[int, ...], classes: int | None) -> tuple[ShardRows, str]:
        """`data.test_path`: another shards directory, every row checked against the training rows."""
        from dataclasses import replace

        import numpy as np

        from ktrun.data.target import Expect

        data = self.data.model_copy(update={"path": self.data.test_path})
        try:
            listing = scan(data)
        except DataError as e:
            raise DataError([at_test_path(p) for p in e.problems]) from None
        if listing.x_shape != self.listing.x_shape or listing.y != self.listing.y:
            raise DataError(
                [
                    pb.error(
                        "data-shape-mismatch",
                        TEST_PATH,
                        f"test split: its shards' arrays ({listing.x_shape}, {listing.y}) differ from "
                        f"the training shards' ({self.listing.x_shape}, {self.listing.y}) in per-sample "
                        "shape or dtype",
                        "write the test shards as the training shards are written",
                    )
                ]
            )
        want = Expect.of(data, classes)
        parts = []
        for shard in listing.shards:
            if self.rows_of(shard, shard.rows, input_shape, want) is None and self.bad >= MAX_BAD_SHARDS:
                break
            parts.append((str(shard.path), np.arange(shard.rows, dtype=np.intp)))
        if self.problems:
            found = [replace(p, message=f"test split: {p.message}") for p in self.problems]
            raise DataError([at_test_path(p) for p in found])
        rows = listing.rows
        return self.part(parts), f"{listing.describe(rows)} from data.test_path"


# ---------------------------------------------------------------- the split


def used_rows(listing: Listing, data: DataSpec) -> list[int]:
    """Rows used of each shard: all of them, or the first `data.limit` in shard order."""
    left = data.limit if data.limit is not None else listing.rows
    out = []
    for shard in listing.shards:
        take = min(shard.rows, left)
        out.append(take)
        left -= take
    return out


def shares(rows: list[int], fraction: float) -> list[int]:
    """Each shard's share of `fraction` of the rows, its rounding carried on to the next shard, so
    that they add up to `round(total * fraction)`, what an in-memory split holds out."""
    out, done, seen = [], 0, 0
    for n in rows:
        seen += n
        due = round(seen * fraction) if fraction > 0 else 0
        out.append(due - done)
        done = due
    return out


def split(n: int, n_test: int, n_val: int, seed: int, index: int) -> tuple[NDArray[np.intp], ...]:
    """One shard's (training, validation, test) rows, each in file order: a permutation seeded
    by (experiment.seed, shard index) picks them, so a resumed search splits alike."""
    import numpy as np

    order = np.random.default_rng([seed % (1 << 32), index]).permutation(n).astype(np.intp)
    cut = n_test + n_val
    return np.sort(order[cut:]), np.sort(order[n_test:cut]), np.sort(order[:n_test])


# ---------------------------------------------------------------- labels


def label_kind(listing: Listing, data: DataSpec, want: Expect) -> list[Problem]:
    """Streamed labels reach the loss as stored, or as one-hot rows of stored class ids
    (`data.labels: one_hot`); one-hot rows are not turned back into ids."""
    from ktrun.data.sources.npz import flat_shape

    if not want.classifies or want.labels == "multi_hot" or listing.y is None:
        return []
    stored = listing.y[0]
    one_hot = len(flat_shape((0, *stored))[1:]) == want.label_rank() + 1 and stored[-1] > 1
    if one_hot and want.labels == "sparse":
        why, fix = "the shards hold one-hot rows", "set data.labels: one_hot (with categorical_crossentropy)"
    elif not one_hot and want.labels == "one_hot" and len(stored) != want.label_rank():
        why, fix = (
            f"the shards hold class ids as a column {stored}",
            "store the class ids as a flat array (n,)",
        )
    else:
        return []
    return [
        pb.error(
            "data-option-conflict",
            ("data", "labels"),
            f"data.source shards streams the labels as stored, and {why}, but data.labels is {data.labels}",
            f"{fix}, or write the shards' labels as class ids (n,)",
        )
    ]


def _labels(
    listing: Listing, data: DataSpec, used: list[int], want: Expect
) -> tuple[int | None, list[Problem]]:
    """Check's reading of the used labels, shard by shard: their problems, and the classes."""
    from ktrun.data.files import Npz, open_data

    classes: int | None = None
    problems: list[Problem] = []
    for shard, n in zip(listing.shards, used, strict=True):
        if n == 0:
            break
        try:
            with open_data(str(shard.path), HINT) as (path, fh):
                npz = Npz(path, fh, HINT)
                y = npz.read(npz.header(data.y_key, Y_KEY), Y_KEY)[:n]
        except DataError as e:  # changed since it was listed
            problems.extend(e.problems)
            break
        found = _check_labels(y, shard, want)
        problems.extend(found.problems)
        if found.problems:
            break
        if found.classes is not None:
            classes = max(classes or 0, found.classes)
    return classes, problems


def _check_labels(y: NDArray[Any], shard: Shard, want: Expect) -> Any:
    """`check_y` on one shard's labels, rows named by shard (labels stored as a column, flat)."""
    import numpy as np

    from ktrun.data.files import shown
    from ktrun.data.sources.npz import flat_labels
    from ktrun.data.validate import check_y

    flat = flat_labels(y)
    assert flat is not None
    name = shown(shard.path.name, 160)
    return check_y(flat, np.arange(len(flat), dtype=np.intp), want, Y_KEY, lambda i: f"row {i} of {name}")


def _itemsize(dtype: str) -> int:
    import numpy as np

    return int(np.dtype(dtype).itemsize)


def _prod(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


SOURCE = Shards()
