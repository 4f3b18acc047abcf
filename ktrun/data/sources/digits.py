"""`data.source: digits`: scikit-learn's bundled 8x8 digits, the default (no file, no network)."""

from __future__ import annotations

from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataInfo, Raw
from ktrun.data.sources.base import NO_SUPPLY, DataSource, Supply
from ktrun.spec.experiment import DataSpec


class Digits(DataSource):
    """1797 grey 8x8 images of 10 digits; shape and classes are known, so check reads nothing."""

    name = "digits"

    def known(self, data: DataSpec) -> DataInfo:
        # The rarest digit (8) has 174 rows; what a limit or a test split leaves of it is seeded.
        whole = data.limit is None and data.test_split == 0
        return DataInfo((8, 8, 1), 10, target_shape=(), rows=1797, class_rows=174 if whole else None)

    def describe(self, data: DataSpec, seed: int, budget: int) -> DataInfo:
        return self.known(data)

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        import numpy as np
        from sklearn.datasets import load_digits  # lazily: only this source needs scikit-learn

        bunch = load_digits()
        here: KeyPath = ("data", "source")
        return Raw(bunch.images[..., np.newaxis], bunch.target, "digits", "scikit-learn", here, here)


SOURCE = Digits()
