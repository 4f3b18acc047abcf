"""`data.source: custom`: your own loader, a function declared under `custom_objects.loaders`.

`check` runs no code of yours: it takes the per-sample shape you declare (`data.input_shape`) and
the classes (`data.num_classes`) on trust. The run calls the function once, before the first trial,
and verifies what it returns against that declaration. Arrays (x, y) are prepared as every
source's are (shuffling, the split, normalisation); a `tf.data.Dataset`, or a dict of them by
split, is streamed (`ktrun.data.user_datasets`). Which one, the run learns only by calling it:
`read` branches on what came back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError, DataInfo, Raw
from ktrun.data.sources.base import NO_SUPPLY, DataSource, Needs, Supply
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:  # numpy: only when data is read
    from ktrun.data.stream import StreamedDataset

LOADER: KeyPath = ("data", "loader")
SHAPE: KeyPath = ("data", "input_shape")
RETURN_HINT = (
    "return numpy arrays `(x, y)` (x of shape (rows, *data.input_shape), one y row per x row), a "
    "tf.data.Dataset of (x, y) pairs, or a dict of them: {'train': ..., 'validation': ..., 'test': ...}"
)


class CustomLoader(DataSource):
    """What check knows is what you declare; the run checks your function kept its word."""

    name = "custom"
    keys = ("loader", "input_shape")

    def known(self, data: DataSpec) -> DataInfo:
        shape = tuple(data.input_shape) if data.input_shape else None
        return DataInfo(shape, data.num_classes, _missing(data))

    def describe(self, data: DataSpec, seed: int, budget: int) -> DataInfo:
        return self.known(data)  # never imports or calls the loader

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        missing = _missing(data)
        if missing:
            raise DataError(missing)
        if supply.user is None:  # check's budgeted reading: nothing of yours runs
            assert data.input_shape is not None
            label = f"your loader `{data.loader}`"
            return Raw(None, None, label, None, SHAPE, LOADER, shape=(0, *data.input_shape))
        return _raw(_called(data, supply), data)

    def read(self, data: DataSpec, needs: Needs, supply: Supply) -> Raw | StreamedDataset:
        """Arrays for the shared preparation, or the datasets your loader returned, streamed."""
        from ktrun.data.user_datasets import is_datasets, stream_of

        if supply.user is None:
            return self.load(data, supply=supply)
        missing = _missing(data)
        if missing:
            raise DataError(missing)
        returned = _called(data, supply)
        if is_datasets(returned):
            return stream_of(returned, data, needs, supply.datasets)
        if needs.final and data.test_split == 0:  # check cannot know: arrays have no test split of their own
            raise DataError(
                [
                    pb.error(
                        "final-no-test-split",
                        ("final", "retrain"),
                        f"final.retrain scores the best configuration on a test split, but your loader "
                        f"`{data.loader}` returned arrays and data.test_split is 0",
                        "hold rows out with data.test_split (e.g. 0.1), or return "
                        "{'train': ..., 'validation': ..., 'test': ...} tf.data datasets",
                    )
                ]
            )
        return _raw(returned, data)


def _called(data: DataSpec, supply: Supply) -> object:
    """What your function returned: its error is reported as yours."""
    assert supply.user is not None
    try:
        return supply.user()
    except Exception as e:
        raise DataError(
            [
                pb.error(
                    "data-loader-failed",
                    LOADER,
                    f"your loader `{data.loader}` raised {type(e).__name__}: {str(e)[:300]}",
                    "run it on its own (python -c 'from module import f; f()') and fix it",
                )
            ]
        ) from None


def _raw(returned: object, data: DataSpec) -> Raw:
    x, y = _arrays(returned, data)
    return Raw(x, y, f"your loader `{data.loader}`", None, SHAPE, LOADER)


def _missing(data: DataSpec) -> list[pb.Problem]:
    found = []
    if not data.loader:
        found.append(
            pb.error(
                "data-loader-required",
                LOADER,
                "data.source 'custom' needs data.loader, the name of your function",
                "declare it, e.g. `custom_objects: {loaders: {mine: my_package.data:load}}`, and set "
                "`data.loader: mine`",
            )
        )
    if not data.input_shape:
        found.append(
            pb.error(
                "data-loader-required",
                SHAPE,
                "data.source 'custom' needs data.input_shape: check never runs your loader, so "
                "it needs the per-sample shape of its x to check the model",
                "set it to the shape of one sample, e.g. `data.input_shape: [28, 28, 1]`",
            )
        )
    return found


def _arrays(returned: object, data: DataSpec) -> tuple[Any, Any]:
    """(x, y) from what the loader returned, its x checked against `data.input_shape`."""
    import numpy as np

    def wrong(message: str, at: KeyPath = LOADER) -> DataError:
        said = f"your loader `{data.loader}` {message}"
        return DataError([pb.error("data-loader-returned", at, said, RETURN_HINT)])

    if not isinstance(returned, tuple | list) or len(returned) != 2:
        kind = type(returned).__name__
        raise wrong(f"returned a {kind}, not the pair (x, y)")
    try:
        x, y = (np.asarray(a) for a in returned)
    except (ValueError, TypeError) as e:
        raise wrong(f"returned something numpy cannot read as arrays: {e}") from None
    if object in (x.dtype, y.dtype):
        raise wrong(f"returned ragged or object arrays (x {x.dtype}, y {y.dtype})")
    declared = tuple(data.input_shape or ())
    if x.ndim == 0 or tuple(x.shape[1:]) != declared:
        raise wrong(
            f"returned x of shape {tuple(x.shape)}: {tuple(x.shape[1:])} per "
            f"sample, but data.input_shape says {list(declared)}",
            SHAPE,
        )
    return x, y


SOURCE = CustomLoader()
