"""Keras' own dataset downloads, for sources given without `data.path` (needs the network)."""

from __future__ import annotations

from typing import Any


def keras_dataset(source: str) -> Any:
    """keras.datasets.<source>.load_data(): downloads unless Keras has the file cached."""
    import keras

    return getattr(keras.datasets, source).load_data()
