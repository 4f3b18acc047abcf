"""The data sources, by the `data.source` value that selects them: one module each, listed here.

Adding one: a module beside these with a `DataSource` subclass (its keys, `known`/`describe` for
`ktrun check`, `load` for the run), its instance in `SOURCES`, its name in `DataSpec.source`
(`ktrun.spec.experiment`) and a `conf/data/<name>.yaml`; `tests/unit/test_sources.py` checks they agree.
"""

from __future__ import annotations

from ktrun import problems as pb
from ktrun.data.raw import DataError
from ktrun.data.sources import csv, custom, digits, image_folder, keras_datasets, npz, shards
from ktrun.data.sources.base import (
    NO_SUPPLY,
    DataSource,
    ImageDecoders,
    KerasLoader,
    Needs,
    Supply,
    UserLoader,
)

SOURCES: dict[str, DataSource] = {
    s.name: s
    for s in (
        digits.SOURCE,
        keras_datasets.MNIST,
        keras_datasets.FASHION_MNIST,
        keras_datasets.CIFAR10,
        npz.SOURCE,
        csv.SOURCE,
        custom.SOURCE,
        image_folder.SOURCE,
        shards.SOURCE,
    )
}


def source_for(name: str) -> DataSource:
    """The source `data.source` names (a `DataError` for a name no source has)."""
    source = SOURCES.get(name)
    if source is not None:
        return source
    from ktrun.data.files import shown

    *others, last = SOURCES
    raise DataError(
        [
            pb.error(
                "data-source-unknown",
                ("data", "source"),
                f"unknown data.source '{shown(name)}'",
                f"use {', '.join(others)} or {last}",
            )
        ]
    )


__all__ = [
    "NO_SUPPLY",
    "SOURCES",
    "DataSource",
    "ImageDecoders",
    "KerasLoader",
    "Needs",
    "Supply",
    "UserLoader",
    "source_for",
]
