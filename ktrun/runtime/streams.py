"""Streamed splits as `tf.data` pipelines, batched with each trial's batch size.

The data layer says what to read (`ktrun.data.stream`); this module reads it: image files decoded
and resized in parallel, npz shards one at a time, your loader's dataset as it is. Each split is
normalised with the training rows' statistics and prefetched, so the model trains while the next
batch is read and memory stays one shard (or a shuffle buffer of file names) deep.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from ktrun.data.stream import ImageDecoder, ImageFiles, Part, ShardRows, StreamedDataset, UserData

#: Samples your loader's dataset is shuffled across (its own order is kept within a window this wide).
SHUFFLE_BUFFER = 10_000


def is_streamed(x: object) -> bool:
    """Whether `x` is a split to read (not arrays to feed)."""
    return isinstance(x, ImageFiles | ShardRows | UserData)


def pipeline(
    parts: Part | Sequence[Part],
    data: StreamedDataset,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    targets: bool = True,
) -> Any:
    """The `tf.data.Dataset` of `parts` (one split, or several read one after another), normalised
    and batched: (x, y) batches, or x only (`targets=False`, for `adapt` and `predict`)."""
    chosen = parts if isinstance(parts, Sequence) else (parts,)
    found = [_samples(p, data, shuffle, seed) for p in chosen]
    ds = found[0]
    for more in found[1:]:
        ds = ds.concatenate(more)
    if data.affine is not None:
        scale, shift = (tf.constant(a) for a in data.affine)
        target_is_x = data.reconstructs

        def normalised(x: Any, y: Any) -> tuple[Any, Any]:
            x = tf.cast(x, tf.float32) * scale + shift
            return x, (x if target_is_x else y)

        ds = ds.map(normalised, num_parallel_calls=tf.data.AUTOTUNE)
    if data.one_hot is not None:
        classes = data.one_hot
        ds = ds.map(lambda x, y: (x, tf.one_hot(y, classes)), num_parallel_calls=tf.data.AUTOTUNE)
    if not targets:
        ds = ds.map(lambda x, y: x)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _samples(part: Part, data: StreamedDataset, shuffle: bool, seed: int) -> Any:
    """One split as unbatched (x, y) samples, x as float32."""
    if isinstance(part, ImageFiles):
        ds = tf.data.Dataset.from_tensor_slices((list(part.paths), part.labels))
        if shuffle:  # file names only: the buffer holds the whole split cheaply
            ds = ds.shuffle(len(part), seed=seed, reshuffle_each_iteration=True)
        size, channels = part.size, part.channels
        return ds.map(lambda p, y: (decode_image(p, size, channels), y), num_parallel_calls=tf.data.AUTOTUNE)
    if isinstance(part, ShardRows):
        epochs = itertools.count()

        def chunks() -> Any:  # a new order every epoch, the same across runs with the same seed
            yield from part.chunks(seed + next(epochs) if shuffle else None)

        x_spec = tf.TensorSpec((None, *data.input_shape), tf.float32)
        y_spec = tf.TensorSpec((None, *part.y_shape), tf.as_dtype(part.y_dtype))
        rows = tf.data.Dataset.from_generator(chunks, output_signature=(x_spec, y_spec)).unbatch()
        # Counted before the first trial: with a known size Keras knows an epoch's steps (and
        # does not warn, at every first epoch, that the input "ran out of data").
        return rows.apply(tf.data.experimental.assert_cardinality(len(part)))
    ds = part.dataset
    if part.rows:  # counted before the first trial: Keras then knows an epoch's steps
        ds = ds.apply(tf.data.experimental.assert_cardinality(part.rows))
    if shuffle:
        ds = ds.shuffle(
            min(part.rows or SHUFFLE_BUFFER, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True
        )
    shape, target_is_x = data.input_shape, data.reconstructs

    def sample(x: Any, *y: Any) -> tuple[Any, Any]:  # (x, y), or x alone for reconstruction
        x = tf.ensure_shape(tf.cast(x, tf.float32), shape)  # the static shape the model is built for
        return x, (x if target_is_x else y[0])

    return ds.map(sample, num_parallel_calls=tf.data.AUTOTUNE)


def decode_image(path: Any, size: tuple[int, int], channels: int) -> Any:
    """One image file as float32 (height, width, channels) in 0..255, as Keras'
    `image_dataset_from_directory` reads it (first frame of a GIF, bilinear resize)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    image = tf.image.resize(image, size)
    image.set_shape((*size, channels))
    return image


def image_decoder(size: tuple[int, int], channels: int) -> ImageDecoder:
    """The same decoding, eager, for the check of every file before the first trial."""

    def decode(path: str) -> NDArray[np.float32]:
        return np.asarray(decode_image(tf.constant(path), size, channels).numpy(), dtype=np.float32)

    return decode
