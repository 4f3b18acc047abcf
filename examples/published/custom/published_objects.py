"""Losses and metrics some published searches import from elsewhere, written here for the corpus.

Declared under `custom_objects` by the experiments that use them; ktrun imports this module only
when a run builds its first model (`ktrun check` never does).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="published")
def custom_metric(y_true: Any, y_pred: Any) -> Any:
    """The keras.io objective guide's example metric: the mean squared difference per sample."""
    return ops.mean(ops.square(ops.cast(y_true, y_pred.dtype) - y_pred), axis=-1)


def _hard(y_true: Any, y_pred: Any, threshold: float) -> tuple[Any, Any]:
    truth = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    guess = ops.reshape(ops.cast(y_pred > threshold, "float32"), (-1,))
    return truth, guess


@keras.saving.register_keras_serializable(package="published")
def iou_score(y_true: Any, y_pred: Any) -> Any:
    """segmentation_models' IOUScore(threshold=0.5) for one class: |A ∩ B| / |A ∪ B| of the masks."""
    truth, guess = _hard(y_true, y_pred, 0.5)
    inter = ops.sum(truth * guess)
    return (inter + 1e-5) / (ops.sum(truth) + ops.sum(guess) - inter + 1e-5)


@keras.saving.register_keras_serializable(package="published")
def f_score(y_true: Any, y_pred: Any) -> Any:
    """segmentation_models' FScore(threshold=0.5), beta 1: 2|A ∩ B| / (|A| + |B|) of the masks."""
    truth, guess = _hard(y_true, y_pred, 0.5)
    inter = ops.sum(truth * guess)
    return (2 * inter + 1e-5) / (ops.sum(truth) + ops.sum(guess) + 1e-5)


@keras.saving.register_keras_serializable(package="published")
def jaccard_focal(y_true: Any, y_pred: Any) -> Any:
    """0.5 x Jaccard loss + 0.5 x binary focal loss, the lane search's total loss: Keras' Tversky
    loss with alpha = beta = 1 is the Jaccard loss, and its class-balanced binary focal
    crossentropy (alpha 0.25, gamma 2) is segmentation_models' BinaryFocalLoss."""
    y_true = ops.cast(y_true, y_pred.dtype)
    jaccard = keras.losses.tversky(y_true, y_pred, alpha=1.0, beta=1.0)
    focal = keras.losses.binary_focal_crossentropy(
        y_true, y_pred, apply_class_balancing=True, alpha=0.25, gamma=2.0
    )
    return 0.5 * jaccard + 0.5 * ops.mean(focal, axis=tuple(range(1, len(focal.shape))))
