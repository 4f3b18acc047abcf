"""Every kind of target: labels validated per array against what the output expects
(`check_y`), encoded for the loss, and the output shape each kind needs (`output_shape`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.data.describe import describe
from ktrun.data.load import DataError, load_dataset
from ktrun.data.target import Expect, output_shape
from ktrun.data.validate import check_y
from ktrun.spec.experiment import DataSpec

Y = ("data", "y_key")


def expect(**kwargs: Any) -> Expect:
    return Expect.of(DataSpec(**kwargs))


def checked(y: np.ndarray[Any, Any], **kwargs: Any) -> Any:
    return check_y(y, np.arange(len(y)), expect(**kwargs), Y, lambda i: f"row {i}")


def write(path: Path, **arrays: Any) -> str:
    np.savez(path, **arrays)
    return str(path)


# ---------------------------------------------------------------- multi-hot rows


def test_multi_hot_rows_are_kept_as_rows_of_zeros_and_ones() -> None:
    y = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]])
    labels = checked(y, labels="multi_hot")
    assert labels.problems == [] and labels.classes == 3
    assert labels.values.dtype == np.float32 and labels.values.tolist() == y.tolist()


def test_multi_hot_values_other_than_zero_and_one_name_the_first_row() -> None:
    y = np.array([[1, 0], [0.5, 1], [2, 0]])
    (problem,) = checked(y, labels="multi_hot").problems
    assert problem.code == "data-label-type" and problem.path == Y
    assert "2 rows are not multi-hot" in problem.message and "row 1: 0.5" in problem.message
    assert "binarise" in problem.hint


def test_multi_hot_needs_rows() -> None:
    (problem,) = checked(np.array([0, 1, 1]), labels="multi_hot").problems
    assert problem.code == "data-label-shape" and "(n, k)" in problem.hint


def test_multi_hot_width_against_a_given_class_count() -> None:
    (problem,) = checked(np.eye(3), labels="multi_hot", num_classes=4).problems
    assert problem.code == "data-label-range" and problem.path == ("data", "num_classes")
    assert "rows of 3 labels but the model has 4" in problem.message
    assert problem.hint.startswith("set data.num_classes: 3")


def test_multi_hot_rows_read_as_one_hot_say_which_key_reads_them() -> None:
    """Without `labels: multi_hot`, rows with several 1s are not one-hot: the hint names the key."""
    (problem,) = checked(np.array([[1, 1, 0], [0, 1, 0]])).problems
    assert problem.code == "data-label-type" and "data.labels: multi_hot" in problem.hint


# ---------------------------------------------------------------- one label per time step


def test_per_step_class_ids_and_one_hot_rows() -> None:
    ids = np.array([[0, 2, 1], [1, 1, 0]])
    labels = checked(ids, per_step=True)
    assert labels.problems == [] and labels.classes == 3 and labels.values.tolist() == ids.tolist()
    one_hot = checked(np.eye(3)[ids], per_step=True)
    assert one_hot.classes == 3 and one_hot.values.tolist() == ids.tolist()


def test_per_step_labels_need_a_time_axis() -> None:
    (problem,) = checked(np.array([0, 1, 2]), per_step=True).problems
    assert problem.code == "data-label-shape" and "(n, T)" in problem.message
    assert "remove data.per_step" in problem.hint


def test_per_step_ids_out_of_range_and_fractional() -> None:
    (problem,) = checked(np.array([[0, 1], [5, 0]]), per_step=True, num_classes=3).problems
    assert problem.code == "data-label-range" and problem.path == ("data", "num_classes")
    (problem,) = checked(np.array([[0.0, 1.5], [1.0, 0.0]]), per_step=True).problems
    assert problem.code == "data-label-type" and "row 0: 1.5" in problem.message


def test_ids_per_time_step_without_per_step_say_so() -> None:
    """The labels of a sequence-labelling set, read as one label per sample: the hint is per_step."""
    (problem,) = checked(np.array([[0, 2, 1], [3, 1, 1]])).problems
    assert problem.code == "data-label-type" and "data.per_step: true" in problem.hint


# ---------------------------------------------------------------- regression


@pytest.mark.parametrize("shape", [(6,), (6, 3), (6, 2, 3)])
def test_regression_targets_keep_their_shape(shape: tuple[int, ...]) -> None:
    labels = checked(np.ones(shape), task="regression")
    assert labels.problems == [] and labels.values.shape == shape and labels.values.dtype == np.float32


# ---------------------------------------------------------------- encoded for the loss (load_dataset)


def test_loaded_multi_hot_and_per_step_one_hot(tmp_path: Path) -> None:
    y = (np.arange(40).reshape(10, 4) % 3 == 0).astype(np.int64)
    path = write(tmp_path / "m.npz", x=np.ones((10, 2)), y=y)
    ds = load_dataset(
        DataSpec(source="npz", path=path, labels="multi_hot", validation_split=0), (2,), None, 0
    )
    assert ds.num_classes == 4 and ds.y_train.shape == (10, 4) and ds.y_train.dtype == np.float32
    seq = np.arange(30).reshape(10, 3) % 4
    path = write(tmp_path / "s.npz", x=np.ones((10, 3)), y=seq)
    spec = DataSpec(source="npz", path=path, per_step=True, labels="one_hot", validation_split=0)
    ds = load_dataset(spec, (3,), None, 0)
    assert ds.y_train.shape == (10, 3, 4) and (ds.y_train.sum(axis=-1) == 1).all()


def test_reconstruction_trains_against_the_normalised_input_and_reads_no_y(tmp_path: Path) -> None:
    x = np.arange(60, dtype=np.float64).reshape(10, 6)
    path = write(tmp_path / "ae.npz", x=x)  # no y array at all
    spec = DataSpec(source="npz", path=path, task="reconstruction", normalize="standardize")
    ds = load_dataset(spec, (6,), None, 0)
    assert ds.y_train is ds.x_train and ds.y_val is ds.x_val and ds.num_classes is None
    assert abs(float(ds.x_train.mean())) < 1e-5  # normalised, and the target with it
    info = describe(spec)
    assert info.problems == [] and info.input_shape == (6,) and info.target_shape is None


def test_csv_reconstruction_uses_every_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "\n".join(f"{i},{i + 1},{i * 2}" for i in range(10)) + "\n")
    ds = load_dataset(DataSpec(source="csv", path=str(path), task="reconstruction"), (3,), None, 0)
    assert ds.x_train.shape[1] == 3 and ds.y_train is ds.x_train


def test_a_bad_multi_hot_file_is_a_data_error(tmp_path: Path) -> None:
    path = write(tmp_path / "b.npz", x=np.ones((10, 2)), y=np.full((10, 3), 0.3))
    with pytest.raises(DataError) as err:
        load_dataset(DataSpec(source="npz", path=path, labels="multi_hot"), (2,), None, 0)
    assert [p.code for p in err.value.problems] == ["data-label-type"]


@pytest.mark.parametrize(
    ("kwargs", "y", "target"),
    [
        ({}, np.arange(10) % 3, ()),
        ({}, np.eye(3)[np.arange(10) % 3], ()),  # one-hot rows are read back as ids
        ({"labels": "multi_hot"}, np.ones((10, 4)), (4,)),
        ({"per_step": True}, np.zeros((10, 5), dtype=int), (5,)),
        ({"task": "regression"}, np.ones((10, 2, 3)), (2, 3)),
    ],
)
def test_check_describes_the_target_shape(
    tmp_path: Path, kwargs: Any, y: Any, target: tuple[int, ...]
) -> None:
    path = write(tmp_path / "d.npz", x=np.ones((10, 2)), y=y)
    assert describe(DataSpec(source="npz", path=path, **kwargs)).target_shape == target


# ---------------------------------------------------------------- the output each kind needs


@pytest.mark.parametrize(
    ("kwargs", "target", "classes", "binary", "want"),
    [
        ({}, (), 10, False, (10,)),
        ({}, (), 2, True, (1,)),  # binary loss: one sigmoid unit
        ({"labels": "multi_hot"}, (5,), 5, True, (5,)),  # multi-hot: one sigmoid unit per label
        ({"per_step": True}, (7,), 3, False, (7, 3)),
        ({"task": "regression"}, (), None, False, (1,)),
        ({"task": "regression"}, (3,), None, False, (3,)),
        ({"task": "regression"}, (2, 3), None, False, (2, 3)),
        ({"task": "reconstruction"}, (8, 8, 1), None, False, (8, 8, 1)),
        ({"task": "regression"}, None, None, False, None),
    ],
)
def test_output_shape(kwargs: Any, target: Any, classes: Any, binary: bool, want: Any) -> None:
    assert output_shape(expect(**kwargs), target, classes, binary) == want
