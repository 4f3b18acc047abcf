"""Keras' own dataset downloads, for sources given without `data.path` (needs the network)."""

from __future__ import annotations

from typing import Any

from ktrun import problems as pb
from ktrun.data.raw import DataError
from ktrun.data.sources import UserLoader
from ktrun.spec.experiment import ExperimentSpec


def user_loader(spec: ExperimentSpec) -> UserLoader | None:
    """`data.loader`'s function, imported from `custom_objects.loaders` (None for other sources);
    an import that fails is your code's problem, reported before the first trial (exit 2)."""
    name = spec.data.loader
    if spec.data.source != "custom" or not name or name not in spec.custom_objects.loaders:
        return None  # `check` has reported it
    target = spec.custom_objects.loaders[name]

    def failed(message: str, hint: str) -> DataError:
        return DataError([pb.error("data-loader-failed", ("custom_objects", "loaders", name), message, hint)])

    try:
        found = spec.custom_objects.resolve("loaders", name)
    except Exception as e:
        raise failed(
            f"importing your loader `{target}` failed: {type(e).__name__}: {str(e)[:300]}",
            "check the module imports on its own (python -c 'import module') from the directory "
            "you run ktrun in",
        ) from None
    if not callable(found):
        raise failed(
            f"`{target}` is a {type(found).__name__}, not a function",
            "name a function that takes no arguments and returns (x, y)",
        )
    return found  # type: ignore[no-any-return]


def keras_dataset(source: str) -> Any:
    """keras.datasets.<source>.load_data(): downloads unless Keras has the file cached."""
    import keras

    return getattr(keras.datasets, source).load_data()
