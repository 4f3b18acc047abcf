"""`fit.cross_validation`'s folds: disjoint, covering, stratified, seeded; normalised per fold."""

from __future__ import annotations

import numpy as np
import pytest

from ktrun.data.folds import fold_problems, make_folds
from ktrun.data.load import DataError, load_dataset
from ktrun.data.prepare import Dataset, prepare
from ktrun.data.raw import Raw
from ktrun.pipeline import check_one
from ktrun.spec.experiment import DataSpec


def test_folds_are_disjoint_cover_the_rows_and_keep_class_proportions() -> None:
    ids = np.repeat(np.arange(3), [30, 60, 90])
    folds = make_folds(ids, len(ids), 3, seed=7)
    assert len(folds) == 3
    held = [set(h.tolist()) for _, h in folds]
    assert all(not (a & b) for i, a in enumerate(held) for b in held[i + 1 :])
    assert set().union(*held) == set(range(len(ids)))
    for train, h in folds:
        assert set(train.tolist()) == set(range(len(ids))) - set(h.tolist())
        assert np.bincount(ids[h]).tolist() == [10, 20, 30]  # stratified: every class in its share
    again = make_folds(ids, len(ids), 3, seed=7)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = make_folds(ids, len(ids), 3, seed=8)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))


def test_unstratified_folds_cover_the_rows() -> None:
    folds = make_folds(None, 10, 4, seed=0)
    assert sorted(np.concatenate([h for _, h in folds]).tolist()) == list(range(10))


def test_fold_problems_name_the_key_and_the_largest_k() -> None:
    assert fold_problems(3, 100, 10, stratified=True) == []
    (rows,) = fold_problems(10**9, 1797, None, stratified=False)
    assert rows.code == "cross-validation-folds" and rows.path == ("fit", "cross_validation", "folds")
    assert "at most 1797" in rows.hint
    (rare,) = fold_problems(5, 100, 4, stratified=True)
    assert "rarest class" in rare.message and "at most 4" in rare.hint
    assert fold_problems(5, 100, 4, stratified=False) == []


def _raw(x: np.ndarray, y: np.ndarray) -> Raw:
    return Raw(x, y, "test", None, ("data", "path"), ("data", "path"))


def test_each_fold_is_normalised_with_its_own_training_rows_only() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(60, 4)).astype(np.float32)
    y = np.tile(np.arange(2), 30)
    ds = prepare(_raw(x, y), DataSpec(source="npz", normalize="standardize"), (4,), 2, seed=1, folds=3)
    raw = prepare(_raw(x, y), DataSpec(source="npz", normalize="none"), (4,), 2, seed=1, folds=3)
    assert ds.x_val is None and ds.folds is not None and len(ds.folds) == 3
    assert raw.folds is not None and ds.normalize == "standardize"
    for k, (train, held) in enumerate(ds.folds):
        assert np.array_equal(held, raw.folds[k][1])  # the same rows, seeded
        fold = ds.fold(k)
        # what standardising the raw rows with this fold's training rows' statistics gives
        raw_train, raw_held = raw.x_train[train], raw.x_train[held]
        mean, std = raw_train.mean(axis=0), raw_train.std(axis=0)
        np.testing.assert_allclose(fold.x_train, (raw_train - mean) / std, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(fold.x_val, (raw_held - mean) / std, rtol=1e-4, atol=1e-4)
        assert np.array_equal(fold.y_val, ds.y_train[held])
        assert fold.folds is None
        # the held-out rows' own statistics are not the ones used
        assert not np.allclose(fold.x_val.mean(axis=0), 0.0, atol=1e-3)


def test_folds_replace_the_validation_split_and_scale_per_fold() -> None:
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    ds = prepare(_raw(x, np.tile(np.arange(2), 10)), DataSpec(source="npz"), (2,), 2, seed=0, folds=2)
    assert len(ds.x_train) == 20 and ds.x_val is None  # validation_split 0.2 does not apply
    for k, (train, _) in enumerate(ds.folds or ()):
        assert float(np.abs(ds.fold(k).x_train).max()) == pytest.approx(1.0)  # its own maximum
        assert float(ds.x_train[train].max()) > 0


def test_named_arrays_are_split_by_the_same_folds() -> None:
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    side = np.arange(10, dtype=np.float32).reshape(10, 1) * 100
    y = np.tile(np.arange(2), 5)
    aux = np.arange(10) % 2
    folds = make_folds(y, 10, 2, seed=0)
    ds = Dataset(
        x,
        y,
        None,
        None,
        (3,),
        2,
        "test",
        named=({"img": (x, None), "side": (side, None)}, {"out": (y, None), "aux": (aux, None)}),
        folds=folds,
        normalize="scale",
        normalized=frozenset({"img", "side"}),
    )
    for k, (train, held) in enumerate(folds):
        fold = ds.fold(k)
        inputs, targets = fold.inputs(), fold.targets()
        val_inputs, val_targets = fold.inputs(validation=True), fold.targets(validation=True)
        assert isinstance(inputs, dict) and isinstance(targets, dict)
        assert isinstance(val_inputs, dict) and isinstance(val_targets, dict)
        assert inputs["img"] is fold.x_train
        side_train = side[train] / side[train].max()
        np.testing.assert_allclose(inputs["side"], side_train)
        np.testing.assert_allclose(val_inputs["side"], side[held] / side[train].max())
        assert np.array_equal(targets["aux"], aux[train]) and np.array_equal(val_targets["aux"], aux[held])
        assert np.array_equal(val_targets["out"], y[held])


def test_more_folds_than_the_rarest_class_is_a_data_error() -> None:
    data = DataSpec(source="digits", limit=100)  # seed 0: the rarest digit has 7 of these rows
    with pytest.raises(DataError) as e:
        load_dataset(data, (8, 8, 1), 10, 0, folds=8)
    (problem,) = e.value.problems
    assert problem.code == "cross-validation-folds" and "only 7 training row(s)" in problem.message
    assert "at most 7" in problem.hint
    assert len(load_dataset(data, (8, 8, 1), 10, 0, folds=7).folds or ()) == 7


def test_cross_validation_with_hyperband_checks_clean() -> None:
    report = check_one(["tuner=hyperband", "fit.cross_validation.folds=5"], strict=True)
    assert not report.problems, report.problems
