"""k-fold cross-validation (`fit.cross_validation`): which training rows each fold holds out.

The folds replace `data.validation_split`: every used row is a training row, and each fold
validates on the 1/k of them it holds out. Classification with one class id per sample is split
stratified (each fold keeps the classes' proportions); anything else (regression, multi-hot or
per-step labels, reconstruction) plainly. Both are seeded by `experiment.seed`, so check, every
trial and a resumed search see the same folds. Normalisation is fitted per fold
(`Dataset.fold`), never on the rows a fold validates on.

No numpy at import: `ktrun check` asks `fold_problems` without reading anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Fold = tuple[NDArray[np.intp], NDArray[np.intp]]  # (training rows, held-out rows)

FOLDS: KeyPath = ("fit", "cross_validation", "folds")


def stratifies(data: DataSpec) -> bool:
    """Stratified folds need one class per sample."""
    return data.task == "classification" and data.labels != "multi_hot" and not data.per_step


def fold_problems(folds: int, rows: int | None, class_rows: int | None, stratified: bool) -> list[Problem]:
    """Folds the rows cannot make: every fold needs a held-out row (of every class, stratified)."""
    if stratified and class_rows is not None and folds > class_rows:
        return [
            pb.error(
                "cross-validation-folds",
                FOLDS,
                f"stratified folds put every class in every fold, but the rarest class has only "
                f"{class_rows} training row(s) for {folds} folds",
                f"set fit.cross_validation.folds to at most {max(class_rows, 2)}, or use more rows "
                "(raise data.limit)",
            )
        ]
    if rows is not None and folds > rows:
        return [
            pb.error(
                "cross-validation-folds",
                FOLDS,
                f"{folds} folds need at least {folds} training rows, but there are {rows}",
                f"set fit.cross_validation.folds to at most {max(rows, 2)} (5 or 10 are usual), "
                "or use more rows",
            )
        ]
    return []


def smallest_class(ids: NDArray[Any] | None, stratified: bool) -> int | None:
    """Rows of the rarest class present, for stratified folds (None: not stratified or unknown)."""
    import numpy as np

    if not stratified or ids is None or ids.ndim != 1 or len(ids) == 0:
        return None
    return int(np.unique(ids, return_counts=True)[1].min())


def make_folds(ids: NDArray[Any] | None, rows: int, folds: int, seed: int) -> tuple[Fold, ...]:
    """k disjoint held-out sets covering the rows, stratified by `ids` (class ids) when given."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold

    index = np.arange(rows)
    if ids is not None:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed % 2**32).split(index, ids)
    else:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed % 2**32).split(index)
    return tuple((train.astype(np.intp), held.astype(np.intp)) for train, held in splits)


__all__ = ["FOLDS", "fold_problems", "make_folds", "smallest_class", "stratifies"]
