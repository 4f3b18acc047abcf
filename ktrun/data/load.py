"""The run's entry to the data: load it once, before the first trial (numpy only, no TensorFlow).

The source named by `data.source` reads its arrays (`ktrun.data.sources`); the preparation every
source shares validates, splits and normalises them (`ktrun.data.prepare`). Every data problem is
raised here, all at once, as one `DataError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ktrun.data.columns import misplaced, table_of
from ktrun.data.named import Arrays, needs_npz, primary, read_extras, test_split_problems
from ktrun.data.prepare import Dataset, prepare
from ktrun.data.raw import DataError
from ktrun.data.sources import ImageDecoders, KerasLoader, Needs, Supply, UserLoader, source_for
from ktrun.data.stream import DatasetTools, StreamedDataset
from ktrun.spec.experiment import DataSpec

#: What the search trains on: arrays in memory, or splits read as they are trained on.
Data = Dataset | StreamedDataset


def load_dataset(
    data: DataSpec,
    input_shape: Sequence[int],
    num_classes: int | None,
    seed: int,
    keras_loader: KerasLoader | None = None,
    arrays: Arrays | None = None,
    user_loader: UserLoader | None = None,
    final: bool = False,
    folds: int | None = None,
    images: ImageDecoders | None = None,
    datasets: DatasetTools | None = None,
    balanced: bool = False,
) -> Data:
    """Everything the search needs from the data, or one `DataError` listing all that is wrong.

    `input_shape` and `num_classes` are what the model expects (`num_classes` falls back to
    `data.num_classes`, then to max label + 1). `keras_loader(source)` downloads a built-in data set
    when `data.path` is unset; the runtime passes one so this module never imports Keras.
    `final`: the final stage will score on the test split, so a source's own test set is read too
    (`data.test_split` and `data.test_path` are always held out and checked). `folds`:
    `fit.cross_validation.folds` (the folds replace the validation split). `images(size,
    channels)` makes the decoder a streamed image source validates its files with (the runtime's);
    `datasets` reads a `tf.data.Dataset` your loader returns (the runtime's). `balanced`:
    `fit.class_weight` may be `balanced`, so a streamed source counts the classes.
    """
    wrong = needs_npz(data, arrays) or misplaced(data, arrays)
    if wrong is not None:
        raise wrong
    conflicts = test_split_problems(data, arrays)
    if conflicts:
        raise DataError(conflicts)
    data = primary(data, arrays)
    source = source_for(data.source)
    supply = Supply(keras_loader, user_loader, images, datasets)
    shape = tuple(int(d) for d in input_shape)
    classes = num_classes if num_classes is not None else data.num_classes
    found = source.read(data, Needs(shape, classes, seed, final, folds, balanced), supply)
    if isinstance(found, StreamedDataset):
        return found
    raw = found
    table = table_of(data, arrays, raw)
    extras = read_extras(data, arrays, raw.x_shape[0]) if arrays is not None and table is None else None
    test = None
    if data.test_path or (final and source.own_test(data) is not None):
        test = source.load_test(data, supply=supply)
        test = source.train_labels(test, raw) if test is not None else None
    return prepare(raw, data, shape, classes, seed, arrays, extras, table, test, folds)


__all__ = ["Data", "DataError", "Dataset", "KerasLoader", "StreamedDataset", "load_dataset"]
