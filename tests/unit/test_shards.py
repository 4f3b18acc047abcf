"""`data.source: shards` without TensorFlow: check's view from the headers, the run's one pass (split,
validation, moments, class counts), and the settings a stream refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.data.describe import describe
from ktrun.data.load import DataError, load_dataset
from ktrun.data.prepare import _normalize
from ktrun.data.sources import shards
from ktrun.data.splits import split_sizes
from ktrun.data.stream import ShardRows, StreamedDataset
from ktrun.pipeline import check_one
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec
from tests.hostile.expect import problem, show

SHAPE = (8, 8, 1)


def write(directory: Path, rows: list[int], seed: int = 0, **arrays: Any) -> Path:
    """Shards of `rows` rows each (labels 0..2); `arrays` replaces a shard's: {"x_2": ...}."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(rows):
        x = arrays.get(f"x_{i}", rng.normal(size=(n, *SHAPE)).astype(np.float32))
        y = arrays.get(f"y_{i}", np.arange(n) % 3)
        np.savez(directory / f"part-{i:03d}.npz", x=x, y=y)
    return directory


def spec(path: Path, **kw: Any) -> DataSpec:
    return DataSpec(source="shards", path=str(path), **kw)


def stream(data: DataSpec, classes: int | None = None) -> StreamedDataset:
    found = load_dataset(data, SHAPE, classes, seed=3)
    assert isinstance(found, StreamedDataset)
    return found


def raised(data: DataSpec, shape: tuple[int, ...] = SHAPE, classes: int | None = None) -> list[Problem]:
    with pytest.raises(DataError) as err:
        load_dataset(data, shape, classes, seed=3)
    return err.value.problems


def rows_of(part: ShardRows) -> list[tuple[str, list[int]]]:
    return [(Path(p).name, r.tolist()) for p, r in part.shards]


# ---------------------------------------------------------------- check's view


def test_check_reads_the_headers_and_the_labels(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [50, 50, 50, 50])
    info = describe(spec(d, test_split=0.1))
    assert (info.input_shape, info.num_classes, info.rows, info.target_shape) == (SHAPE, 3, 200, ())
    assert info.problems == [] and info.test == "20 rows held out by data.test_split"


def test_check_leaves_labels_over_its_budget_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ktrun.data.describe.CHECK_BUDGET", 100)
    d = write(tmp_path / "d", [50, 50], y_1=np.full(50, -1))
    info = describe(spec(d))
    assert info.input_shape == SHAPE and info.num_classes is None and info.problems == []
    problem(raised(spec(d)), "data-label-range", key="data.y_key")  # the run's pass finds it


def test_check_names_a_label_problem_by_shard_and_row(tmp_path: Path) -> None:
    y = np.arange(50) % 3
    y[7] = 5
    d = write(tmp_path / "d", [50, 50], y_1=y)
    found = describe(spec(d, num_classes=3)).problems
    p = problem(found, "data-label-range", key="data.num_classes")
    assert "5" in p.message


# ---------------------------------------------------------------- the split


def test_the_split_is_per_shard_seeded_and_adds_up_to_an_in_memory_split(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [37, 41, 5, 60])
    data = spec(d, test_split=0.15, validation_split=0.25)
    found = stream(data)
    n_test, n_val = split_sizes(143, data)
    assert found.counts() == (143 - n_test - n_val, n_val, n_test)
    assert found.test_source.endswith("held out by data.test_split, shard by shard")
    by_shard: dict[str, list[int]] = {}
    for part in (found.train, found.validation, found.test):
        assert isinstance(part, ShardRows)
        for name, rows in rows_of(part):
            assert rows == sorted(rows)
            by_shard.setdefault(name, []).extend(rows)
    assert {k: sorted(v) for k, v in by_shard.items()} == {
        f"part-{i:03d}.npz": list(range(n)) for i, n in enumerate([37, 41, 5, 60])
    }  # every row in exactly one split
    again = stream(data)
    assert isinstance(again.train, ShardRows) and isinstance(found.train, ShardRows)
    assert rows_of(again.train) == rows_of(found.train)  # seeded: a resumed search splits alike


def test_limit_takes_the_first_rows_in_shard_order(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [30, 30, 30])
    found = stream(spec(d, limit=45, validation_split=0.0))
    assert isinstance(found.train, ShardRows)
    assert rows_of(found.train) == [("part-000.npz", list(range(30))), ("part-001.npz", list(range(15)))]
    assert found.validation is None and "90 rows, 45 used" in found.source


def test_too_few_rows_for_a_split(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [3])
    problem(raised(spec(d, test_split=0.1)), "data-too-small", key="data.test_split")


# ---------------------------------------------------------------- what the pass measures


def test_moments_and_class_counts_are_the_training_rows(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [40, 25, 33], seed=1)
    found = stream(spec(d, normalize="standardize", test_split=0.1))
    assert isinstance(found.train, ShardRows) and found.affine is not None
    xs, ys = zip(*found.train.chunks(), strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    want = _normalize("standardize", x, None)[0]
    scale, shift = found.affine
    np.testing.assert_allclose(x * scale + shift, want, atol=1e-4)
    ids, n = np.unique(y, return_counts=True)
    assert found.class_counts[0] == dict(zip(ids.tolist(), n.tolist(), strict=True))
    assert found.num_classes == 3 and y.dtype == np.int64 and x.dtype == np.float32
    assert sum(found.class_counts[1].values()) == found.counts()[1]


def test_a_class_the_training_rows_lack_is_a_warning(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [20, 20], y_0=np.zeros(20, int), y_1=np.ones(20, int))
    found = stream(spec(d), classes=4)
    problem(found.warnings, "data-class-missing")


def test_reconstruction_reads_no_labels(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    np.savez(d / "a.npz", x=np.ones((20, *SHAPE), np.float32))
    found = stream(spec(d, task="reconstruction", normalize="scale"))
    assert found.reconstructs and isinstance(found.train, ShardRows) and found.train.y_key is None


def test_a_test_directory(tmp_path: Path) -> None:
    train, test = write(tmp_path / "train", [30, 30]), write(tmp_path / "test", [12], seed=5)
    found = stream(spec(train, test_path=str(test)))
    assert found.counts()[2] == 12 and found.test_source.endswith("from data.test_path")
    info = describe(spec(train, test_path=str(test)))
    assert info.problems == [] and info.test == "12 rows from data.test_path"
    one = write(tmp_path / "one", [1])  # read whole: no validation split of its own to leave empty
    assert describe(spec(train, test_path=str(one))).problems == []
    assert stream(spec(train, test_path=str(one))).counts()[2] == 1
    bad = write(tmp_path / "bad", [12], y_0=np.full(12, 7))
    p = problem(raised(spec(train, test_path=str(bad))), "data-label-range", key="data.test_path")
    assert p.message.startswith("test split:")
    other = tmp_path / "other"
    other.mkdir()
    np.savez(other / "a.npz", x=np.ones((5, 4)), y=np.zeros(5, int))
    problem(raised(spec(train, test_path=str(other))), "data-shape-mismatch", key="data.test_path")


# ---------------------------------------------------------------- rows and shards that are wrong


def test_a_non_finite_row_is_named_by_shard_and_row(tmp_path: Path) -> None:
    x = np.ones((30, *SHAPE), np.float32)
    x[7, 2, 2, 0] = np.nan
    d = write(tmp_path / "d", [30, 30, 30], x_2=x)
    p = problem(raised(spec(d)), "data-not-finite", key="data.x_key")
    assert "row 7 of part-002.npz" in p.message


def test_shards_that_disagree_are_named(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [10, 10, 10], x_1=np.ones((10, 4, 4, 1), np.float32))
    p = problem(describe(spec(d)).problems, "data-shard-mismatch", key="data.x_key")
    assert "part-001.npz" in p.message and "(4, 4, 1)" in p.message and "part-000.npz" in p.message
    d = write(tmp_path / "e", [10, 10], y_1=(np.arange(10) % 3).astype(np.int8))
    p = problem(describe(spec(d)).problems, "data-shard-mismatch", key="data.y_key")
    assert "dtype" in p.message and "part-001.npz" in p.message
    problem(raised(spec(d)), "data-shard-mismatch", key="data.y_key")


def test_rows_of_x_and_y_that_differ(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [10, 10], y_1=np.zeros(9, int))
    p = problem(describe(spec(d)).problems, "data-length-mismatch", key="data.y_key")
    assert "part-001.npz" in p.message


def test_a_shard_without_the_arrays(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [10])
    np.savez(d / "part-001.npz", features=np.ones((10, *SHAPE)), y=np.zeros(10))
    p = problem(describe(spec(d)).problems, "data-file-keys", key="data.x_key")
    assert "part-001.npz" in p.message


def test_an_empty_directory_a_file_and_no_path(tmp_path: Path) -> None:
    problem(describe(spec(tmp_path)).problems, "data-file-missing", key="data.path")
    np.savez(tmp_path / "one.npz", x=np.ones((3, 2)), y=np.zeros(3))
    p = problem(describe(spec(tmp_path / "one.npz")).problems, "data-file-unreadable", key="data.path")
    assert "not a directory" in p.message
    problem(describe(DataSpec(source="shards")).problems, "data-path-required", key="data.path")


def test_the_model_input_must_be_the_stored_shape(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [10])
    problem(raised(spec(d), shape=(8, 8)), "data-shape-mismatch", key="data.x_key")


def test_labels_reach_the_loss_as_stored(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [10, 10], y_0=np.eye(3)[np.arange(10) % 3], y_1=np.eye(3)[np.arange(10) % 3])
    p = problem(describe(spec(d)).problems, "data-option-conflict", key="data.labels")
    assert "one-hot rows" in p.message and "data.labels: one_hot" in p.hint
    found = stream(spec(d, labels="one_hot"))
    assert isinstance(found.train, ShardRows) and found.train.y_dtype == "float32"
    assert found.class_counts[0] and found.num_classes == 3
    assert found.one_hot is None  # one-hot rows as stored
    ids = write(tmp_path / "ids", [10, 10])
    found = stream(spec(ids, labels="one_hot"))  # class ids made one-hot rows by the pipeline
    assert isinstance(found.train, ShardRows) and found.train.y_dtype == "int64" and found.one_hot == 3
    column = write(tmp_path / "column", [10], y_0=(np.arange(10) % 3).reshape(10, 1))
    assert stream(spec(column)).num_classes == 3
    p = problem(describe(spec(column, labels="one_hot")).problems, "data-option-conflict", key="data.labels")
    assert "column (1,)" in p.message


# ---------------------------------------------------------------- what a stream refuses, at check


def test_cross_validation_with_shards_is_refused_at_check(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [20, 20])
    overrides = ["data=shards", f"data.path={d}", "model.layers.3.units=3", "fit.cross_validation.folds=3"]
    report = check_one(overrides)
    p = problem(
        report.problems,
        "cross-validation-streamed",
        key="fit.cross_validation.folds",
        override="fit.cross_validation.folds=3",
    )
    assert "remove fit.cross_validation" in p.hint
    assert report.failed()


def test_named_arrays_with_shards_are_refused_at_check(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [20])
    report = check_one(
        [
            "data=shards",
            f"data.path={d}",
            "+model.inputs.image.array=x",
            "+model.inputs.meta.array=m",
        ]
    )
    problem(report.problems, "data-arrays-need-npz", key="data.source")


def test_check_of_a_good_set_is_clean(tmp_path: Path) -> None:
    d = write(tmp_path / "d", [20, 20])
    report = check_one(["data=shards", f"data.path={d}", "model.layers.3.units=3", "data.test_split=0.2"])
    assert not report.failed(strict=True), show(report.problems)
    assert report.ctx is not None and report.ctx.data.input_shape == SHAPE


def test_shards_is_a_streamed_source() -> None:
    assert shards.SOURCE.streamed and shards.SOURCE.name == "shards"
