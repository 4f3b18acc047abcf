"""Data loading and validation on real arrays: digits from scikit-learn, small .npz and .csv files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.data.load import DataError, Dataset, load_dataset
from ktrun.data.prepare import prepare
from ktrun.data.raw import Raw
from ktrun.spec.experiment import DataSpec


def spec(**kwargs: Any) -> DataSpec:
    return DataSpec.model_validate(kwargs)


def codes(err: pytest.ExceptionInfo[DataError]) -> list[str]:
    return [p.code for p in err.value.problems]


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset(spec(normalize="none"), (8, 8, 1), 10, seed=0)


def write_mnist_like(path: Path, n: int = 50, shape: tuple[int, ...] = (28, 28), label_dims: int = 1) -> Path:
    """A Keras-format file, laid out as `keras.datasets.mnist.load_data()` returns it."""
    rng = np.random.default_rng(1)
    labels = np.arange(n) % 10
    y = labels.reshape(-1, 1) if label_dims == 2 else labels
    np.savez(
        path,
        x_train=rng.integers(0, 256, size=(n, *shape), dtype=np.uint8),
        y_train=y.astype(np.uint8),
        x_test=rng.integers(0, 256, size=(7, *shape), dtype=np.uint8),
        y_test=np.arange(7, dtype=np.uint8),
    )
    return path


def write_npz(path: Path, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], **extra: Any) -> Path:
    np.savez(path, x=x, y=y, **extra)
    return path


# ---------------------------------------------------------------- sources, shapes and dtypes


def test_digits_shapes_dtypes_and_split(digits: Dataset) -> None:
    assert digits.x_train.shape == (1438, 8, 8, 1) and digits.x_train.dtype == np.float32
    assert digits.x_val is not None and digits.x_val.shape == (359, 8, 8, 1)  # round(1797 * 0.2)
    assert digits.y_train.shape == (1438,) and digits.y_train.dtype == np.int64
    assert digits.y_val is not None and digits.y_val.dtype == np.int64
    assert digits.input_shape == (8, 8, 1) and digits.num_classes == 10
    assert digits.source == "digits (scikit-learn, 1797 rows)"
    assert set(np.unique(digits.y_train)) == set(range(10)) and digits.warnings == ()


def test_split_is_deterministic_per_seed(digits: Dataset) -> None:
    again = load_dataset(spec(normalize="none"), (8, 8, 1), 10, seed=0)
    other = load_dataset(spec(normalize="none"), (8, 8, 1), 10, seed=1)
    np.testing.assert_array_equal(again.x_train, digits.x_train)
    np.testing.assert_array_equal(again.y_val, digits.y_val)  # type: ignore[arg-type]
    assert not np.array_equal(other.x_train, digits.x_train)


def test_limit_keeps_the_first_shuffled_rows(digits: Dataset) -> None:
    small = load_dataset(spec(normalize="none", limit=100), (8, 8, 1), 10, seed=0)
    assert small.x_train.shape[0] == 80 and small.x_val is not None and small.x_val.shape[0] == 20
    np.testing.assert_array_equal(small.x_train, digits.x_train[:80])
    np.testing.assert_array_equal(small.x_val, digits.x_train[80:100])
    assert "100 used" in small.source


def test_no_validation_split() -> None:
    ds = load_dataset(spec(validation_split=0.0, limit=50), (8, 8, 1), 10, seed=0)
    assert ds.x_train.shape[0] == 50 and ds.x_val is None and ds.y_val is None


def test_mnist_file_adds_channel_axis_and_uses_train_arrays(tmp_path: Path) -> None:
    path = write_mnist_like(tmp_path / "mnist.npz")
    ds = load_dataset(spec(source="mnist", path=str(path)), (28, 28, 1), 10, seed=0)
    assert ds.x_train.shape == (40, 28, 28, 1) and ds.x_train.dtype == np.float32
    assert ds.x_val is not None and ds.x_val.shape == (10, 28, 28, 1)
    assert ds.y_train.dtype == np.int64 and ds.source == f"mnist from {path} (50 rows)"
    assert ds.x_train.max() == 1.0  # scaled by the train split's maximum


def test_cifar_style_labels_are_flattened(tmp_path: Path) -> None:
    path = write_mnist_like(tmp_path / "cifar.npz", n=20, shape=(32, 32, 3), label_dims=2)
    ds = load_dataset(spec(source="cifar10", path=str(path)), (32, 32, 3), 10, seed=0)
    assert ds.x_train.shape == (16, 32, 32, 3) and ds.y_train.shape == (16,)


def test_keras_loader_is_used_without_a_path() -> None:
    calls: list[str] = []

    def loader(source: str) -> Any:
        calls.append(source)
        x = np.zeros((10, 28, 28), dtype=np.uint8)
        y = np.arange(10, dtype=np.uint8)
        return (x, y), (x[:2], y[:2])

    ds = load_dataset(spec(source="fashion_mnist"), (28, 28, 1), 10, seed=0, keras_loader=loader)
    assert calls == ["fashion_mnist"]
    assert ds.x_train.shape == (8, 28, 28, 1) and ds.source == "fashion_mnist (keras.datasets, 10 rows)"


def test_no_keras_loader_needs_a_local_file() -> None:
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="mnist"), (28, 28, 1), 10, seed=0)
    (problem,) = err.value.problems
    assert problem.code == "data-needs-download" and problem.path == ("data", "path")
    assert "data.path=" in problem.hint


def test_generic_npz_with_custom_keys(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "table.npz"
    np.savez(path, features=rng.normal(size=(30, 5)), target=np.arange(30) % 3)
    ds = load_dataset(spec(source="npz", path=str(path), x_key="features", y_key="target"), (5,), None, 0)
    assert ds.x_train.shape == (24, 5) and ds.num_classes == 3  # inferred: max label + 1


def test_npz_grey_images_get_the_channel_axis_the_model_asks_for(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "g.npz", np.zeros((10, 6, 6)), np.arange(10) % 2)
    ds = load_dataset(spec(source="npz", path=str(path)), (6, 6, 1), 2, seed=0)
    assert ds.x_train.shape == (8, 6, 6, 1)


def test_csv_label_column_by_name_index_and_negative_index(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = [f"{i},{i * 0.5},{i % 3},{-i}" for i in range(20)]
    path.write_text("a,b,label,d\n" + "\n".join(rows) + "\n")
    by_name = load_dataset(
        spec(source="csv", path=str(path), label_column="label", normalize="none"), (3,), 3, 0
    )
    by_index = load_dataset(spec(source="csv", path=str(path), label_column=2, normalize="none"), (3,), 3, 0)
    assert by_name.x_train.shape == (16, 3) and by_name.x_train.dtype == np.float32
    np.testing.assert_array_equal(by_name.x_train, by_index.x_train)
    # each row's features are (i, i/2, -i) and its label i % 3
    np.testing.assert_array_equal(by_name.x_train[:, 1] * 2, by_name.x_train[:, 0])
    np.testing.assert_array_equal(by_name.y_train, by_name.x_train[:, 0].astype(np.int64) % 3)
    last = load_dataset(spec(source="csv", path=str(path), label_column=-1, task="regression"), (3,), None, 0)
    assert last.y_train.dtype == np.float32 and last.num_classes is None


def test_csv_text_labels_become_sorted_ids(tmp_path: Path) -> None:
    path = tmp_path / "iris.csv"
    names = ["setosa", "versicolor", "virginica"]
    path.write_text("x1,x2,species\n" + "".join(f"{i},{i + 1},{names[i % 3]}\n" for i in range(12)))
    ds = load_dataset(spec(source="csv", path=str(path), normalize="none"), (2,), None, 0)
    assert ds.num_classes == 3 and "setosa=0" in ds.source
    np.testing.assert_array_equal(ds.y_train, ds.x_train[:, 0].astype(np.int64) % 3)


# ---------------------------------------------------------------- normalisation and labels


def test_scale_divides_by_the_train_maximum(digits: Dataset) -> None:
    scaled = load_dataset(spec(normalize="scale"), (8, 8, 1), 10, seed=0)
    assert scaled.x_train.max() == 1.0
    np.testing.assert_allclose(scaled.x_train, digits.x_train / 16)
    np.testing.assert_allclose(scaled.x_val, digits.x_val / 16)  # type: ignore[operator]


def test_standardize_uses_train_statistics(digits: Dataset) -> None:
    std = load_dataset(spec(normalize="standardize"), (8, 8, 1), 10, seed=0)
    varying = digits.x_train.std(axis=0) > 0
    np.testing.assert_allclose(std.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(std.x_train.std(axis=0)[varying], 1.0, rtol=1e-4)
    # constant pixels are only centred, and the validation rows use the train mean/std
    sd = np.where(varying, digits.x_train.std(axis=0), 1.0)
    expected = (digits.x_val - digits.x_train.mean(axis=0)) / sd  # type: ignore[operator]
    np.testing.assert_allclose(std.x_val, expected, rtol=1e-4, atol=1e-4)  # type: ignore[arg-type]


def test_one_hot_labels(digits: Dataset) -> None:
    ds = load_dataset(spec(labels="one_hot", normalize="none"), (8, 8, 1), 10, seed=0)
    assert ds.y_train.shape == (1438, 10) and ds.y_train.dtype == np.float32
    assert ds.y_val is not None and ds.y_val.shape == (359, 10)
    np.testing.assert_array_equal(ds.y_train.argmax(axis=1), digits.y_train)
    np.testing.assert_array_equal(ds.y_train.sum(axis=1), 1.0)


def test_a_missing_class_is_a_warning_not_an_error(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "d.npz", np.ones((10, 2)), np.arange(10) % 3)
    ds = load_dataset(spec(source="npz", path=str(path), validation_split=0.0), (2,), 5, 0)
    (warning,) = ds.warnings
    assert warning.code == "data-class-missing" and "3, 4" in warning.message


# ---------------------------------------------------------------- problems


def test_nan_inf_and_shape_mismatch_are_reported_together(tmp_path: Path) -> None:
    x = np.ones((20, 4))
    x[3, 0] = x[7, 2] = np.nan
    x[12, 1] = np.inf
    path = write_npz(tmp_path / "bad.npz", x, np.arange(20) % 2)
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="npz", path=str(path)), (5,), 2, seed=0)
    assert codes(err) == ["data-shape-mismatch", "data-not-finite"]
    shape, finite = err.value.problems
    assert "(4,)" in shape.message and "(5,)" in shape.message and shape.path == ("data", "x_key")
    assert "2 NaN and 1 inf values in 3 rows" in finite.message
    assert "row 3" in finite.message  # the first bad row in the file, not in the shuffled order


def test_csv_missing_cells_are_not_finite_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,y\n1,2,0\n3,,1\n5,6,0\n\n7,NA,1\n")
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="csv", path=str(path), validation_split=0.0), (2,), 2, seed=0)
    (problem,) = err.value.problems
    assert problem.code == "data-not-finite" and "2 NaN and 0 inf" in problem.message
    assert "row 1 (line 3)" in problem.message


def test_non_numeric_features(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("a,b,y\n1,red,0\n3,4,1\n")
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="csv", path=str(path), validation_split=0.0), (2,), 2, seed=0)
    assert codes(err) == ["data-not-numeric"] and "'red'" in err.value.problems[0].message


def test_label_out_of_range(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "l.npz", np.ones((20, 3)), np.arange(20) % 13)
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="npz", path=str(path)), (3,), 10, seed=0)
    (problem,) = err.value.problems
    assert problem.code == "data-label-range"
    assert problem.message == "labels range from 0 to 12 but the model has 10 classes"
    assert "final layer" in problem.hint
    assert problem.path == ("data", "y_key")  # the labels: data.num_classes was never set
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="npz", path=str(path), num_classes=10), (3,), 10, seed=0)
    assert err.value.problems[0].path == ("data", "num_classes")


def test_fractional_labels_are_not_class_ids(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "f.npz", np.ones((10, 3)), np.linspace(0, 1, 10))
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="npz", path=str(path)), (3,), 2, seed=0)
    assert codes(err) == ["data-label-type"]
    ds = load_dataset(spec(source="npz", path=str(path), task="regression"), (3,), None, seed=0)
    assert ds.y_train.dtype == np.float32


def test_regression_targets_must_be_finite(tmp_path: Path) -> None:
    y = np.linspace(0, 1, 10)
    y[4] = np.nan
    path = write_npz(tmp_path / "r.npz", np.ones((10, 3)), y)
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="npz", path=str(path), task="regression"), (3,), None, seed=0)
    (problem,) = err.value.problems
    assert problem.code == "data-not-finite" and problem.path == ("data", "y_key")


def test_too_few_rows_for_a_validation_split() -> None:
    with pytest.raises(DataError) as err:
        load_dataset(spec(limit=2), (8, 8, 1), 10, seed=0)  # round(2 * 0.2) == 0 validation rows
    assert codes(err) == ["data-too-small"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="mnist", path=str(tmp_path / "nope.npz")), (28, 28, 1), 10, seed=0)
    (problem,) = err.value.problems
    assert problem.code == "data-file-missing" and problem.path == ("data", "path")
    assert "nope.npz" in problem.message and problem.hint


@pytest.mark.parametrize(
    ("source", "content"),
    [("mnist", b"not a zip"), ("npz", b""), ("npz", b"\x93NUMPY\x01\x00"), ("csv", b"\xff\xfe\xfa")],
)
def test_unreadable_file(tmp_path: Path, source: str, content: bytes) -> None:
    path = tmp_path / f"broken.{'csv' if source == 'csv' else 'npz'}"
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        load_dataset(spec(source=source, path=str(path)), (28, 28, 1), 10, seed=0)
    (problem,) = err.value.problems
    assert problem.code == "data-file-unreadable" and problem.path == ("data", "path")
    assert "broken." in problem.message and problem.hint


def test_npz_without_the_named_arrays(tmp_path: Path) -> None:
    path = tmp_path / "k.npz"
    np.savez(path, a=np.ones(3))
    with pytest.raises(DataError) as err:
        load_dataset(spec(source="mnist", path=str(path)), (28, 28, 1), 10, seed=0)
    assert codes(err) == ["data-file-keys"] and "x_train" in err.value.problems[0].message


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)


def test_a_failed_download_is_a_user_error() -> None:
    def offline(source: str) -> Any:
        raise OSError("URL fetch failure: Temporary failure in name resolution")

    with pytest.raises(DataError) as err:
        load_dataset(spec(source="cifar10"), (32, 32, 3), 10, seed=0, keras_loader=offline)
    (problem,) = err.value.problems
    assert problem.code == "data-download-failed" and "name resolution" in problem.message
    assert "data.path=" in problem.hint


def test_one_hot_labels_in_a_file_are_read_as_ids(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "oh.npz", np.ones((12, 2)), np.eye(4)[np.arange(12) % 4])
    ds = load_dataset(spec(source="npz", path=str(path), validation_split=0.0), (2,), None, seed=0)
    assert ds.num_classes == 4 and ds.y_train.dtype == np.int64 and set(ds.y_train) == {0, 1, 2, 3}


@pytest.mark.parametrize("one_hot", [False, True])
def test_balanced_class_weights_make_every_class_weigh_the_same_in_total(one_hot: bool) -> None:
    from ktrun.data.prepare import balanced_class_weights

    ids = np.array([0] * 6 + [1] * 3 + [2] * 1)
    y = np.eye(3)[ids] if one_hot else ids
    weights = balanced_class_weights(y)
    assert weights == pytest.approx({0: 10 / 18, 1: 10 / 9, 2: 10 / 3})
    totals = {c: weights[c] * int((ids == c).sum()) for c in weights}
    assert max(totals.values()) == pytest.approx(min(totals.values()))  # each class counts as much


# ---------------------------------------------------------------- the test split


def test_test_rows_never_reach_the_search(tmp_path: Path) -> None:
    """Rows marked by a feature value no other row has are all in the test split."""
    rng = np.random.default_rng(0)
    x = rng.random((120, 4)).astype(np.float32)
    y = rng.integers(0, 3, 120)
    marked = np.zeros(120, dtype=bool)
    data = DataSpec(source="npz", path="x.npz", test_split=0.25, normalize="none")
    # the run's own split, seeded: find which rows it holds out, mark them, and split again
    first = prepare(Raw(x, y, "t", None, ("data",), ("data",)), data, (4,), 3, seed=3)
    assert first.x_test is not None and len(first.x_test) == 30
    held = {tuple(r) for r in first.x_test.tolist()}
    for i, row in enumerate(x.tolist()):
        marked[i] = tuple(row) in held
    x[marked, 0] = 99.0  # the marker
    again = prepare(Raw(x, y, "t", None, ("data",), ("data",)), data, (4,), 3, seed=3)
    assert again.x_test is not None and (again.x_test[:, 0] == 99.0).all()
    assert not (again.x_train[:, 0] == 99.0).any()
    assert again.x_val is not None and not (again.x_val[:, 0] == 99.0).any()
    assert len(again.x_train) + len(again.x_val) + len(again.x_test) == 120


def test_the_test_split_is_stratified_and_seeded() -> None:
    from ktrun.data.prepare import test_rows

    rng = np.random.default_rng(1)
    ids = rng.permutation(np.array([0] * 60 + [1] * 30 + [2] * 10))
    held = test_rows(ids, 100, 20)
    assert len(held) == 20
    assert np.bincount(ids[held], minlength=3).tolist() == [12, 6, 2]  # each class in proportion
    # no class ids (regression, multi-hot): the first rows of the shuffled order
    assert test_rows(None, 100, 7).tolist() == list(range(7))
    # largest remainders make up the total
    odd = np.array([0, 0, 0, 1, 1, 2, 2])
    assert len(test_rows(odd, 7, 3)) == 3


def test_normalisation_statistics_come_from_the_training_rows_only() -> None:
    y = np.zeros(40, dtype=np.int64)
    where: tuple[str, ...] = ("data",)
    plain = DataSpec(source="npz", path="x.npz", test_split=0.25, validation_split=0.0, normalize="none")
    index = np.arange(40.0, dtype=np.float32)[:, None].repeat(2, 1)
    probe = prepare(Raw(index, y, "t", None, where, where), plain, (2,), 1, 0)
    assert probe.x_test is not None and len(probe.x_test) == 10
    x = np.ones((40, 2), dtype=np.float32)
    x[probe.x_test[:, 0].astype(int)] = 1000.0  # the rows the seeded split holds out
    scaled = plain.model_copy(update={"normalize": "scale"})
    ds = prepare(Raw(x, y, "t", None, where, where), scaled, (2,), 1, 0)
    assert ds.x_test is not None and float(ds.x_train.max()) == 1.0
    assert float(ds.x_test.min()) == 1000.0  # scaled by the training rows' peak (1), not its own
