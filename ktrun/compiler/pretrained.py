"""ImageNet weights at run time, before the first trial: every file the search can load must be
in Keras' cache and readable. The builder then loads each by path, so Keras never calls its
`get_file`, which downloads on a missing file and again on a hash mismatch. TF-free."""

from __future__ import annotations

import os
from pathlib import Path

from ktrun import problems as pb
from ktrun.checks import CheckedSpec
from ktrun.checks.backbones import ImagenetNeed, imagenet_needs
from ktrun.layers.applications import keras_models_dir
from ktrun.problems import Problem


def weights_problems(checked: CheckedSpec) -> list[Problem]:
    """What stops the run: a file the search needs that is missing from the cache or unreadable."""
    needs = imagenet_needs(checked.spec, checked.space, checked.checker)
    if not needs:
        return []
    cache = keras_models_dir()
    return [p for need in needs if (p := _problem(need, cache / need.file)) is not None]


def _problem(need: ImagenetNeed, path: Path) -> Problem | None:
    if not path.is_file():
        return pb.error(
            "imagenet-weights-missing",
            need.path,
            f"{need.what}'s ImageNet weights are not in Keras' cache: `{path}` does not exist, and a "
            "run never downloads",
            f"fetch them once on a machine with network: `{need.fetch}` (Keras saves the file in "
            f"{_cache_words()}/models), or copy `{need.file}` to {path.parent}; or use `weights: null`",
        )
    why = _unreadable(path)
    if why is None:
        return None
    return pb.error(
        "imagenet-weights-unreadable",
        need.path,
        f"{need.what}'s cached ImageNet weights `{path}` cannot be read: {why}",
        f"delete the file and fetch it again: `{need.fetch}`",
    )


def _cache_words() -> str:
    return "$KERAS_HOME" if "KERAS_HOME" in os.environ else "~/.keras"


def _unreadable(path: Path) -> str | None:
    """Why the file is no weights file Keras' `.h5` loader reads (None: it opens as one)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "layer_names" in f.attrs or "model_weights" in f:
                return None
    except OSError as e:
        return f"not an HDF5 file ({str(e).split(':')[0]})"
    return "an HDF5 file without Keras weights in it (no `layer_names`)"
