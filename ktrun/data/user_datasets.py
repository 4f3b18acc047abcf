"""The `tf.data.Dataset`s your loader returns: verified, split and measured before the first trial.

`data.source: custom`'s function may return (x, y) arrays (`ktrun.data.sources.custom`), one
`tf.data.Dataset` of (x, y) samples, batched or not, or a dict of them by split: `train`,
`validation` and optionally `test`. A single dataset is split in its own order by element count
(train, then the validation rows, then the test rows, as Keras' `validation_split` takes the last
rows): it must know its size. A batched dataset is unbatched (a batched single one is read once
to count its samples); every trial batches with its own batch size.

Before the first trial its `element_spec` is held to what the config declares (the per-sample
shape of x, labels of the kind `data.labels` says), and the training split is read once when the
run needs its statistics (`data.normalize: scale` or `standardize`, `fit.class_weight`, a class
count not given) or a split does not know its size. The TensorFlow work is the run's
(`DatasetTools`): nothing here imports TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.files import quoted, shown
from ktrun.data.raw import DataError
from ktrun.data.sources.base import Needs
from ktrun.data.splits import row_count, split_problems, split_sizes
from ktrun.data.stream import DatasetTools, Element, Moments, StreamedDataset, Tensor, UserData
from ktrun.data.target import Expect
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec

LOADER: KeyPath = ("data", "loader")
SHAPE: KeyPath = ("data", "input_shape")
SPLITS = ("train", "validation", "test")
#: Samples per numpy batch of the pass over a split.
PASS_BATCH = 1024
PAIRS_HINT = (
    "yield (x, y) pairs, e.g. `ds.map(lambda d: (d['image'], d['label']))`, or return numpy arrays (x, y)"
)


@dataclass
class _Given:
    """One dataset your loader returned: what it is and how its samples are read."""

    name: str  # "train", "validation", "test"; "" for a single dataset
    dataset: Any
    element: Element
    batched: bool = False
    rows: int | None = None

    @property
    def pair(self) -> bool:
        return self.element.tensors is not None and len(self.element.tensors) == 2


@dataclass
class _Pass:
    """What one read of a split found: its samples, statistics, class counts and problems."""

    rows: int = 0
    moments: Moments = field(default_factory=Moments)
    classes: dict[int, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def is_datasets(returned: object) -> bool:
    """Whether your loader returned TensorFlow objects (or a dict of them), not arrays: by module
    name, so that nothing here imports TensorFlow."""
    if isinstance(returned, dict):
        return True  # the dict form; what each value is, is checked with the run's tools
    return type(returned).__module__.split(".")[0] in ("tensorflow", "keras")


def stream_of(returned: object, data: DataSpec, needs: Needs, tools: DatasetTools | None) -> StreamedDataset:
    """The search's splits from what your loader returned, or one `DataError` with all that is wrong."""
    label = f"your loader `{data.loader}`"
    if tools is None:  # only a run reads datasets; a caller that supplied no tools has none to read
        raise DataError(
            [_returned(f"{label} returned a {type(returned).__name__}, which only `ktrun run` reads")]
        )
    given = _given(returned, label, tools)
    problems = [p for g in given for p in _element_problems(g, label, data, needs)]
    if needs.folds is not None:
        problems.append(
            pb.error(
                "data-loader-returned",
                ("fit", "cross_validation"),
                f"{label} returned a tf.data.Dataset, but fit.cross_validation makes its folds from rows "
                "in memory",
                "return numpy arrays (x, y) from your loader, or remove fit.cross_validation",
            )
        )
    if problems:
        raise DataError(problems)
    single = not given[0].name
    parts, warnings = _splits(given, label, data, needs, tools)
    if needs.final and "test" not in parts:
        raise DataError(
            [
                pb.error(
                    "final-no-test-split",
                    ("final", "retrain"),
                    f"final.retrain scores the best configuration on a test split, but {label} returned "
                    "no 'test' dataset and data.test_split is 0",
                    "return {'train': ..., 'validation': ..., 'test': ...}, or hold samples out of a "
                    "single dataset with data.test_split (e.g. 0.1)",
                )
            ]
        )
    return _measured(parts, single, warnings, label, data, needs, tools)


def _returned(message: str, at: KeyPath = LOADER, hint: str = PAIRS_HINT) -> Problem:
    return pb.error("data-loader-returned", at, message, hint)


def _given(returned: object, label: str, tools: DatasetTools) -> list[_Given]:
    """The datasets returned: one, or the dict's by split name (unknown names and non-datasets refused)."""
    found: list[_Given] = []
    problems: list[Problem] = []
    if not isinstance(returned, dict):
        element = tools.element(returned)
        if element is None:
            raise DataError(
                [_returned(f"{label} returned a {type(returned).__name__}, not (x, y) arrays or a dataset")]
            )
        return [_Given("", returned, element)]
    names = [k for k in returned if k in SPLITS]
    unknown = [quoted(k) for k in returned if k not in SPLITS]
    missing = [k for k in SPLITS[:2] if k not in returned]
    if unknown or missing:
        said = f"has no {' or '.join(repr(k) for k in missing)}" if missing else ""
        said += (" and " if said else "") + (f"has {', '.join(unknown[:5])}" if unknown else "")
        problems.append(
            _returned(
                f"{label} returned a dict that {said}",
                hint="return a dict with the keys 'train' and 'validation' (and 'test' for the final stage), "
                "each a tf.data.Dataset of (x, y) pairs",
            )
        )
    for name in sorted(names, key=SPLITS.index):
        value = returned[name]
        element = tools.element(value)
        if element is None:
            problems.append(
                _returned(
                    f"{label} returned a dict whose '{name}' is a {type(value).__name__}, not a dataset",
                    hint="make every value a tf.data.Dataset of (x, y) pairs (from_tensor_slices((x, y)) "
                    "for arrays), or return numpy arrays (x, y) and let ktrun split them",
                )
            )
        else:
            found.append(_Given(name, value, element))
    if problems:
        raise DataError(problems)
    return found


def _who(g: _Given, label: str) -> str:
    return f"{label}'s '{g.name}' dataset" if g.name else f"{label}'s dataset"


def _element_problems(g: _Given, label: str, data: DataSpec, needs: Needs) -> list[Problem]:
    """One dataset's element held to the config: (x, y) pairs (x alone will do for reconstruction),
    numbers, x of data.input_shape per sample, labels of the kind data.labels says; and its size."""
    who, el = _who(g, label), g.element
    want = Expect.of(data, needs.num_classes)
    lone = el.tensors is not None and len(el.tensors) == 1
    if el.tensors is None or not (g.pair or (lone and not want.reads_y)):
        return [_returned(f"{who} yields {shown(el.said)}, not (x, y) pairs")]
    problems: list[Problem] = []
    if el.infinite:
        problems.append(
            _returned(
                f"{who} is infinite (it repeats): an epoch would never end",
                hint="remove .repeat(): every epoch reads each split once",
            )
        )
    x, y = el.tensors[0], (el.tensors[1] if g.pair else None)
    if not x.numeric:
        problems.append(
            _returned(
                f"{who} yields x of dtype {shown(x.dtype)}, not numbers",
                hint="decode or encode x to numbers in your pipeline (e.g. tf.io.decode_image, a lookup "
                "table), or return numpy arrays",
            )
        )
    declared = needs.input_shape
    if x.shape is None or len(x.shape) not in (len(declared), len(declared) + 1):
        rank = "unknown" if x.shape is None else str(len(x.shape))
        problems.append(
            _returned(
                f"{who} yields x of {'unknown shape' if x.shape is None else f'shape {_fmt(x.shape)}'} "
                f"(rank {rank}), but data.input_shape says {list(declared)} per sample",
                SHAPE,
                "set data.input_shape to the shape of one sample, or give x that shape in your pipeline "
                f"(`ds.map(lambda x, y: (tf.ensure_shape(x, {list(declared)}), y))`)",
            )
        )
        return problems
    g.batched = len(x.shape) == len(declared) + 1
    each = x.shape[1:] if g.batched else x.shape
    if not _fits(each, declared):
        batches = f"batches of x of shape {_fmt(x.shape)}: " if g.batched else "x of shape "
        problems.append(
            _returned(
                f"{who} yields {batches}{_fmt(each)} per sample, but data.input_shape says {list(declared)}",
                SHAPE,
                "set data.input_shape to the shape of one sample, or reshape x in your pipeline",
            )
        )
    if y is not None and want.reads_y:
        problems += _label_problems(who, y, g.batched, want)
    return problems


def _label_problems(who: str, y: Tensor, batched: bool, want: Expect) -> list[Problem]:
    """Labels of the kind the config says, as far as the element_spec tells (None dims: any size)."""
    if not y.numeric:
        return [
            pb.error(
                "data-label-type",
                LOADER,
                f"{who} yields y of dtype {shown(y.dtype)}, not numbers",
                "yield class ids 0..C-1 (or one-hot / multi-hot rows), or numeric targets, e.g. through a "
                "tf.keras.layers.StringLookup in your pipeline",
            )
        ]
    if not want.classifies or y.shape is None:
        return []  # regression targets are matched to the model's output; an unknown rank, when read
    if batched and not y.shape:
        return [
            pb.error(
                "data-label-shape",
                LOADER,
                f"{who} yields batches of x but one y per batch",
                "batch x and y together: ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(n)",
            )
        ]
    each = y.shape[1:] if batched else y.shape
    c = want.num_classes
    fits: list[tuple[int | None, ...]]
    if want.labels == "sparse":
        fits = [(None,), (None, 1)] if want.per_step else [(), (1,)]
        needed = (
            "one class id per time step, (T,)" if want.per_step else "one class id per sample, () or (1,)"
        )
        hint = "yield class ids, or set data.labels: one_hot for one-hot rows"
    else:
        fits = [(None, c)] if want.per_step and want.labels == "one_hot" else [(c,)]
        rows = "one-hot rows" if want.labels == "one_hot" else "multi-hot rows of 0/1"
        needed = f"{rows} of {c if c is not None else 'C'} values" + (
            " per time step" if want.per_step else ""
        )
        hint = (
            f"yield {rows} (tf.one_hot(y, C) for ids), or set data.labels: sparse for class ids"
            if want.labels == "one_hot"
            else "yield one 0/1 row per sample, one value per label"
        )
    if any(_fits(each, f) for f in fits):
        return []
    return [
        pb.error(
            "data-label-shape",
            LOADER,
            f"{who} yields y of shape {_fmt(each)} per sample, but data.labels: {want.labels} needs {needed}",
            hint,
        )
    ]


def _fits(shape: Sequence[int | None], wanted: Sequence[int | None]) -> bool:
    """Same rank, and every size known on both sides equal."""
    return len(shape) == len(wanted) and all(
        a is None or b is None or a == b for a, b in zip(shape, wanted, strict=False)
    )


def _fmt(shape: Sequence[int | None]) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _splits(
    given: list[_Given], label: str, data: DataSpec, needs: Needs, tools: DatasetTools
) -> tuple[dict[str, _Given], list[Problem]]:
    """The train, validation and (maybe) test splits as unbatched samples, data.limit applied."""
    warnings: list[Problem] = []
    for g in given:
        if g.batched:
            g.dataset = tools.unbatched(g.dataset)
        g.rows = g.element.rows if not g.batched else None
    if given[0].name:  # the dict form: your splits, as they are
        default_val = DataSpec.model_fields["validation_split"].default
        for key, value, unset in (("validation_split", data.validation_split, (0.0, default_val)),
                                  ("test_split", data.test_split, (0.0,))):  # fmt: skip
            if value not in unset:
                warnings.append(
                    pb.warning(
                        "data-option-conflict",
                        ("data", key),
                        f"data.{key}={value} is not applied: {label} returned its splits by name",
                        f"remove data.{key}, or return one dataset for ktrun to split",
                    )
                )
        for g in given:
            if data.limit is not None:
                g.dataset = tools.part(g.dataset, 0, data.limit)
                g.rows = min(g.rows, data.limit) if g.rows is not None else None
        return {g.name: g for g in given}, warnings
    (one,) = given
    n = one.rows
    if n is None and one.batched and not one.element.infinite:
        n = _counted(one, _who(one, label), tools)  # a batched dataset knows its batches, not its samples
    if n is None:
        raise DataError(
            [
                _returned(
                    f"{_who(one, label)} does not know how many elements it has (after filter() or "
                    "from_generator(), say), so ktrun cannot split it by data.validation_split",
                    hint="return {'train': ..., 'validation': ...} datasets split yourself, or declare "
                    "its size: `ds.apply(tf.data.experimental.assert_cardinality(n))`",
                )
            ]
        )
    used = min(n, data.limit) if data.limit is not None else n
    found = split_problems(n, used, data)
    if found:
        raise DataError(found)
    n_test, n_val = split_sizes(used, data)
    n_train = used - n_test - n_val
    cuts = {"train": (0, n_train), "validation": (n_train, n_train + n_val), "test": (n_train + n_val, used)}
    return {
        name: _Given(name, tools.part(one.dataset, start, stop), one.element, one.batched, stop - start)
        for name, (start, stop) in cuts.items()
        if stop > start
    }, warnings


def _measured(
    parts: dict[str, _Given],
    single: bool,
    warnings: list[Problem],
    label: str,
    data: DataSpec,
    needs: Needs,
    tools: DatasetTools,
) -> StreamedDataset:
    """The splits, with the training split read once when its statistics are needed, and any split
    that does not know its size counted."""
    want = Expect.of(data, needs.num_classes)
    classes = needs.num_classes
    counts = want.classifies and not want.per_step and want.labels != "multi_hot"
    ids_unknown = want.classifies and classes is None and want.labels == "sparse"
    train, val, test = parts["train"], parts.get("validation"), parts.get("test")
    problems: list[Problem] = []
    read: dict[str, _Pass] = {}
    for g in (train, val):
        if g is None:
            continue
        wanted = g is train and (data.normalize != "none" or needs.balanced or ids_unknown)
        if wanted or g.rows is None or (needs.balanced and counts):
            found = _read(g, _who(g, label), want, tools, moments=g is train and data.normalize != "none")
            read[g.name] = found
            g.rows = found.rows
            problems += found.problems
    if test is not None and test.rows is None:
        test.rows = _counted(test, _who(test, label), tools)
    if problems:
        raise DataError(problems)
    if ids_unknown and "train" in read and read["train"].classes:
        classes = max(read["train"].classes) + 1
    elif classes is None and want.classifies and want.labels != "sparse" and train.element.tensors:
        y = train.element.tensors[1].shape  # rows of one value per class (a pair: checked above)
        classes = y[-1] if y else None
    if train.rows == 0:
        raise DataError(
            [
                pb.error(
                    "data-too-small",
                    LOADER,
                    f"{_who(train, label)} is empty",
                    "return a training dataset with samples in it",
                )
            ]
        )
    moments = read["train"].moments if "train" in read else Moments()
    class_counts = tuple(read[k].classes if k in read else {} for k in ("train", "validation"))
    what = f"{label}'s tf.data.Dataset" if single else f"{label}'s tf.data.Datasets"
    test_source = ""
    if test is not None:
        rows = row_count(test.rows or 0)
        test_source = (
            f"the last {rows} of {label}'s dataset, held out by data.test_split"
            if single
            else f"the 'test' dataset {label} returned ({rows})"
        )
    return StreamedDataset(
        train=UserData(train.dataset, train.rows),
        validation=UserData(val.dataset, val.rows) if val is not None else None,
        input_shape=needs.input_shape,
        num_classes=classes if want.classifies else None,
        source=what,
        test=UserData(test.dataset, test.rows) if test is not None else None,
        test_source=test_source,
        affine=moments.affine(data.normalize),
        class_counts=(class_counts[0], class_counts[1]),
        warnings=tuple(warnings),
        reconstructs=not want.reads_y,
    )


def _failed(who: str, e: Exception) -> DataError:
    """Your pipeline's error while ktrun read it before the first trial, reported as yours."""
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", str(e)).strip()  # TensorFlow's {{function_node ...}} prefix
    said = shown(text.splitlines()[0] if text else "", 300)
    return DataError(
        [
            pb.error(
                "data-loader-failed",
                LOADER,
                f"reading {who} failed: {type(e).__name__}: {said}",
                "iterate it on its own (for x, y in ds: pass) and fix the step that fails",
            )
        ]
    )


def _counted(g: _Given, who: str, tools: DatasetTools) -> int:
    try:
        return tools.count(g.dataset)
    except Exception as e:  # your pipeline's code ran
        raise _failed(who, e) from None


def _read(g: _Given, who: str, want: Expect, tools: DatasetTools, moments: bool) -> _Pass:
    """One read of a split: its samples counted, x measured (`moments`) and checked finite, class
    ids checked against the classes and counted."""
    try:
        return _reading(g, who, want, tools, moments)
    except Exception as e:  # your pipeline's code ran
        raise _failed(who, e) from None


def _reading(g: _Given, who: str, want: Expect, tools: DatasetTools, moments: bool) -> _Pass:
    found = _Pass()
    for arrays in tools.arrays(g.dataset, PASS_BATCH):
        x = arrays[0]
        start = found.rows
        found.rows += len(x)
        if moments:
            x32 = x.astype(np.float32)
            bad = ~np.isfinite(x32.reshape(len(x32), -1)).all(axis=1)
            if bad.any():
                found.problems.append(
                    pb.error(
                        "data-not-finite",
                        LOADER,
                        f"{who} holds NaN or infinite x, first in sample {start + int(np.argmax(bad))}",
                        "drop or repair those samples in your pipeline (ds.filter, tf.where)",
                    )
                )
                return found
            found.moments.add(x32)
        if len(arrays) > 1 and want.classifies and not want.per_step and want.labels != "multi_hot":
            problem = _count(arrays[1], start, who, want, found.classes)
            if problem is not None:
                found.problems.append(problem)
                return found
    return found


def _count(y: Any, start: int, who: str, want: Expect, classes: dict[int, int]) -> Problem | None:
    """One batch of single labels (ids, or one-hot rows) added to `classes`; a problem for ids that
    are not whole numbers in 0..C-1."""
    if want.labels == "one_hot":
        ids = np.argmax(y.reshape(len(y), -1), axis=-1)
    else:
        flat = y.reshape(len(y))
        if flat.dtype.kind == "f" and not np.all(np.isfinite(flat) & (flat == np.round(flat))):
            i = int(np.argmax(~(np.isfinite(flat) & (flat == np.round(flat)))))
            return pb.error(
                "data-label-type",
                LOADER,
                f"{who} yields a label that is not a whole number in sample {start + i}: {flat[i]}",
                "classification needs integer class ids 0..C-1; set data.task: regression for real-valued "
                "targets",
            )
        ids = flat.astype(np.int64)
        c = want.num_classes
        wrong = (ids < 0) | (ids >= c) if c is not None else ids < 0
        if wrong.any():
            i = int(np.argmax(wrong))
            return pb.error(
                "data-label-range",
                LOADER,
                f"{who} yields class id {int(ids[i])} in sample {start + i}, outside "
                f"0..{c - 1 if c else 'C-1'}",
                "yield class ids 0..C-1, or raise data.num_classes to the number of classes",
            )
    for c_id, n in zip(*np.unique(ids, return_counts=True), strict=True):
        classes[int(c_id)] = classes.get(int(c_id), 0) + int(n)
    return None
