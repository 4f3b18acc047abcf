"""`data.source: image_folder`: a folder with one subfolder per class, images read as they are trained on.

The layout Keras' `image_dataset_from_directory` reads: the classes are the subfolders in sorted
order (label 0 is the first name), the images every .bmp, .gif, .jpeg, .jpg or .png file below
them; other files are skipped and said so. Nothing is held in memory but the file names.

`ktrun check` lists the folder and reads a sample of files' first bytes (is it an image at all?),
never decoding, never following a linked folder and never opening what is not a regular file (a
FIFO would block it). The run decodes every file once before the first trial, with the decoder the
training uses, so a corrupt or truncated file is a user error naming it, not a crash in trial 7.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.data.raw import DataError, DataInfo, Raw
from ktrun.data.sources.base import NO_SUPPLY, PATH, TEST_PATH, DataSource, Supply
from ktrun.data.splits import row_count
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from ktrun.data.stream import ImageDecoder, ImageFiles, StreamedDataset

#: The file kinds Keras' `image_dataset_from_directory` reads, by suffix, and their first bytes.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
}
SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
CHANNELS = {"rgb": 3, "grayscale": 1, "rgba": 4}
#: A folder with more entries than this is refused (listing it would be the check's whole time).
MAX_FILES = 2_000_000
#: `ktrun check` reads the first bytes of at most this many files, spread over the folder.
SNIFFED = 2_000
#: Files named one by one in a message; the rest are counted.
NAMED = 10
#: Images decoded per batch of the pre-pass's statistics (memory: this many decoded images).
STATS_BATCH = 256
#: No image file may be larger than this, or claim more pixels (a decompression bomb claims billions).
MAX_IMAGE_BYTES = 256 << 20
MAX_PIXELS = 100_000_000
#: A JPEG's frame header is looked for in this many first bytes.
JPEG_HEAD = 1 << 16
HINT_FOLDER = "point data.path at a folder holding one subfolder per class, each with that class's images"


@dataclass
class Listing:
    """An image folder as listed: class names, every image's path and class id, what was skipped."""

    classes: tuple[str, ...]
    paths: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class ImageFolder(DataSource):
    name = "image_folder"
    path_kind = "a folder with one subfolder of images per class"
    keys = ("path", "image_size", "color_mode")
    streamed = True

    def known(self, data: DataSpec) -> DataInfo:
        return DataInfo(_shape(data), data.num_classes, _refused(data), _target(data, data.num_classes))

    def describe(self, data: DataSpec, seed: int, budget: int) -> DataInfo:
        known = self.known(data)
        if known.problems:
            return known
        try:
            found = list_folder(self.required_path(data), PATH)
        except DataError as e:
            return DataInfo(known.input_shape, known.num_classes, e.problems)
        problems = found.problems + _classes_problems(found, data) + sniff(found.paths, PATH, check=True)
        problems += _skipped(found) + _split_problems(len(found.paths), data)
        classes = len(found.classes)
        counts = [found.labels.count(i) for i in range(classes)]
        return DataInfo(
            known.input_shape,
            classes,
            problems,
            _target(data, classes),
            rows=len(found.paths),
            class_rows=min(counts) if counts else None,
        )

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        raise NotImplementedError("an image folder is streamed (ImageFolder.stream), never loaded whole")

    def stream(
        self,
        data: DataSpec,
        input_shape: tuple[int, ...],
        num_classes: int | None,
        seed: int,
        supply: Supply,
        final: bool = False,
    ) -> StreamedDataset:
        import numpy as np

        from ktrun.data.stream import ImageFiles, StreamedDataset

        refused = _refused(data)
        if refused:
            raise DataError(refused)
        found = list_folder(self.required_path(data), PATH)
        problems = found.problems + _classes_problems(found, data) + sniff(found.paths, PATH)
        problems += _split_problems(len(found.paths), data)
        test_found = None
        if data.test_path:
            test_found = list_folder(data.test_path, TEST_PATH)
            problems += (
                test_found.problems + sniff(test_found.paths, TEST_PATH) + _test_classes(found, test_found)
            )
        if problems:
            raise DataError(problems)
        labels = np.asarray(found.labels, dtype=np.int64)
        train, val, test = split(labels, data, seed)
        size = (int(input_shape[0]), int(input_shape[1]))
        channels = CHANNELS[data.color_mode]

        def files(paths: Sequence[str], ids: NDArray[np.int64], rows: Sequence[int]) -> ImageFiles:
            return ImageFiles(
                tuple(paths[i] for i in rows), ids[np.asarray(rows, dtype=np.intp)], size, channels
            )

        parts = [files(found.paths, labels, rows) if rows else None for rows in (train, val, test)]
        test_source = f"{row_count(len(test))} held out by data.test_split" if test else ""
        if test_found is not None:
            ids = np.asarray(
                [found.classes.index(test_found.classes[i]) for i in test_found.labels], dtype=np.int64
            )
            parts[2] = files(test_found.paths, ids, range(len(ids)))
            test_source = f"{row_count(len(ids))} from data.test_path"
        if supply.images is None:
            raise TypeError("streaming an image folder needs a decoder (Supply.images): the runtime's")
        decoder = supply.images(size, channels)
        affine = decode_all(parts, decoder, data)
        counts = [_counts(p) for p in parts[:2]]
        missing = [c for c in range(len(found.classes)) if not counts[0].get(c)]
        warnings: list[Problem] = []  # skipped files: check said so, and the source's description does
        if missing:
            names = ", ".join(found.classes[c] for c in missing[:NAMED])
            warnings.append(
                pb.warning(
                    "data-class-missing",
                    PATH,
                    f"{len(missing)} of {len(found.classes)} classes have no image in the training "
                    f"rows: {names}",
                    "add images to those folders, or raise data.limit",
                )
            )
        train_part = parts[0]
        assert train_part is not None
        return StreamedDataset(
            train_part,
            parts[1],
            (*size, channels),
            len(found.classes),
            f"image folder {data.path} ({_count(len(found.paths), 'image')}, {len(found.classes)} classes"
            + (f", {_count(len(found.skipped), 'other file')} skipped" if found.skipped else "")
            + ")",
            test=parts[2],
            test_source=test_source,
            affine=affine,
            class_counts=(counts[0], counts[1]),
            warnings=tuple(warnings),
            one_hot=len(found.classes) if data.labels == "one_hot" else None,
        )


def list_folder(name: str, key: KeyPath) -> Listing:
    """The folder's classes and images, or a `DataError` if it is no folder of class folders.

    Subfolders are walked without following linked folders (a link loop cannot trap it); a linked
    file counts as the file it names. Every entry that is not a regular file is a problem, never opened.
    """
    root = Path(name).expanduser()
    try:
        mode = os.stat(root).st_mode
    except OSError as e:
        code = "data-file-missing" if isinstance(e, FileNotFoundError) else "data-file-unreadable"
        raise DataError([pb.error(code, key, f"{_shown(root)}: {e.strerror}", HINT_FOLDER)]) from None
    if not stat.S_ISDIR(mode):
        raise DataError(
            [pb.error("image-folder-layout", key, f"{_shown(root)} is not a folder", HINT_FOLDER)]
        )
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as e:
        raise DataError(
            [pb.error("data-file-unreadable", key, f"{_shown(root)}: {e.strerror}", HINT_FOLDER)]
        ) from None
    classes = [e for e in entries if e.is_dir(follow_symlinks=False)]
    found = Listing(tuple(e.name for e in classes))
    found.skipped += [e.path for e in entries if not e.is_dir(follow_symlinks=False)]
    if not classes:
        raise DataError(
            [
                pb.error(
                    "image-folder-layout",
                    key,
                    f"{_shown(root)} has no subfolders: the class of an image is the name of the "
                    "subfolder it is in",
                    HINT_FOLDER,
                )
            ]
        )
    unreadable: list[str] = []
    for label, entry in enumerate(classes):
        for folder, dirs, names in os.walk(entry.path, onerror=lambda e: unreadable.append(str(e.filename))):
            dirs.sort()
            for n in sorted(names):
                path = os.path.join(folder, n)
                if not n.lower().endswith(SUFFIXES):
                    found.skipped.append(path)
                    continue
                found.paths.append(path)
                found.labels.append(label)
            if len(found.paths) + len(found.skipped) > MAX_FILES:
                raise DataError(
                    [
                        pb.error(
                            "data-file-too-large",
                            key,
                            f"{_shown(root)} holds more than {MAX_FILES:,} files",
                            "split the data into several folders, or use data.source: shards",
                        )
                    ]
                )
    found.problems += [
        pb.error("data-file-unreadable", key, f"{_shown(Path(p))} cannot be listed", "fix its permissions")
        for p in unreadable[:NAMED]
    ]
    if not found.paths:
        found.problems.append(
            pb.error(
                "image-folder-layout",
                key,
                f"{_shown(root)} has class folders ({_names(found.classes)}) but no image in them "
                f"(.bmp, .gif, .jpeg, .jpg or .png)",
                HINT_FOLDER,
            )
        )
    return found


def sniff(paths: Sequence[str], key: KeyPath, check: bool = False) -> list[Problem]:
    """Files that are not regular, empty, or start with no image signature; `check` reads at most
    `SNIFFED` of them, evenly spread, and no linked file (it may name a file outside the project)."""
    chosen = paths[:: max(1, len(paths) // SNIFFED)] if check else paths
    bad: list[tuple[str, str]] = []
    for path in chosen:
        why = _not_an_image(path, follow=not check)
        if why is not None:
            bad.append((path, why))
    return _bad_files(bad, key)


def _not_an_image(path: str, follow: bool) -> str | None:
    """Why `path` is not an image file, from its kind and first bytes; None if it may be one."""
    try:
        info = os.stat(path, follow_symlinks=follow)
        if stat.S_ISLNK(info.st_mode):
            return None  # check does not follow links: the run will
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file (a FIFO, device or socket): ktrun does not open it"
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return "is not a regular file: ktrun does not read it"
            if info.st_size > MAX_IMAGE_BYTES or os.fstat(fd).st_size > MAX_IMAGE_BYTES:
                return (
                    f"is {size(max(info.st_size, os.fstat(fd).st_size))}, more than ktrun reads as one image"
                )
            head = os.read(fd, JPEG_HEAD)
        finally:
            os.close(fd)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if not head:
        return "is empty"
    kind = next((k for k, sigs in SIGNATURES.items() if any(head.startswith(s) for s in sigs)), None)
    if kind is None:
        return "is not a BMP, GIF, JPEG or PNG image (its first bytes say otherwise)"
    dims = dimensions(kind, head)
    if dims is not None and dims[0] * dims[1] > MAX_PIXELS:
        return f"claims {dims[0]} x {dims[1]} pixels, more than ktrun decodes ({MAX_PIXELS:,})"
    return None


def dimensions(kind: str, head: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header, None where it cannot tell: so that a file claiming
    billions of pixels is refused before a decoder allocates them."""
    if kind == "png" and len(head) >= 24 and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if kind == "gif" and len(head) >= 10:
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    if kind == "bmp" and len(head) >= 26:
        return abs(int.from_bytes(head[18:22], "little", signed=True)), abs(
            int.from_bytes(head[22:26], "little", signed=True)
        )
    if kind == "jpeg":  # walk the markers to the frame header (SOF0..SOF15 but DHT, JPG, DAC)
        i = 2
        while i + 9 <= len(head) and head[i] == 0xFF:
            marker = head[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(head[i + 7 : i + 9], "big"), int.from_bytes(head[i + 5 : i + 7], "big")
            i += 2 + int.from_bytes(head[i + 2 : i + 4], "big")
    return None


def decode_all(
    parts: Sequence[ImageFiles | None], decode: ImageDecoder, data: DataSpec
) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """Every image decoded once (the training split's measured for `data.normalize`): a file the
    decoder refuses is a problem naming it. Holds `STATS_BATCH` decoded images at a time."""
    import numpy as np

    from ktrun.data.stream import Moments

    moments = Moments()
    bad: list[tuple[str, str]] = []
    for k, part in enumerate(parts):
        if part is None:
            continue
        batch: list[NDArray[np.float32]] = []
        for path in part.paths:
            try:
                image = decode(path)
            except Exception as e:  # the decoder's own words, first line only
                text = str(e).strip().splitlines()
                bad.append((path, f"cannot be decoded: {text[0][:200] if text else type(e).__name__}"))
                continue
            if k == 0 and data.normalize != "none":
                batch.append(image)
                if len(batch) == STATS_BATCH:
                    moments.add(np.stack(batch))
                    batch = []
        if batch:
            moments.add(np.stack(batch))
    if bad:
        raise DataError(_bad_files(bad, PATH))
    return moments.affine(data.normalize)


def split(labels: object, data: DataSpec, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Training, validation and test rows: shuffled with the seed, limited, the test split held
    out first stratified by class (as in-memory sources do), validation the last of the rest."""
    import numpy as np

    from ktrun.data.prepare import test_rows
    from ktrun.data.splits import split_sizes

    ids = np.asarray(labels)
    used = min(len(ids), data.limit) if data.limit is not None else len(ids)
    order = np.random.default_rng(seed).permutation(len(ids))[:used]
    n_test, n_val = split_sizes(used, data)
    held = test_rows(ids[order], used, n_test) if n_test else np.arange(0)
    keep = np.ones(used, dtype=bool)
    keep[held] = False
    rest = order[keep]
    n_train = len(rest) - n_val
    return [int(i) for i in rest[:n_train]], [int(i) for i in rest[n_train:]], [int(i) for i in order[held]]


def _counts(part: ImageFiles | None) -> dict[int, int]:
    if part is None:
        return {}
    import numpy as np

    ids, n = np.unique(part.labels, return_counts=True)
    return {int(i): int(c) for i, c in zip(ids, n, strict=True)}


def _bad_files(bad: list[tuple[str, str]], key: KeyPath) -> list[Problem]:
    hint = "delete or replace these files: ktrun reads every image before the first trial"
    found = [
        pb.error("image-file-unreadable", key, f"{_shown(Path(p))} {why}", hint) for p, why in bad[:NAMED]
    ]
    if len(bad) > NAMED:
        found.append(
            pb.error("image-file-unreadable", key, f"and {len(bad) - NAMED} more files like these", hint)
        )
    return found


def _skipped(found: Listing) -> list[Problem]:
    if not found.skipped:
        return []
    first = ", ".join(_shown(Path(p)) for p in found.skipped[:3])
    return [
        pb.warning(
            "image-files-skipped",
            PATH,
            f"{_count(len(found.skipped), 'file')} skipped, not an image in a class folder: {first}"
            + (", ..." if len(found.skipped) > 3 else ""),
            "images need a .bmp, .gif, .jpeg, .jpg or .png name inside a class folder; move the others out",
        )
    ]


def _classes_problems(found: Listing, data: DataSpec) -> list[Problem]:
    if data.num_classes is None or data.num_classes == len(found.classes):
        return []
    return [
        pb.error(
            "image-folder-layout",
            ("data", "num_classes"),
            f"data.num_classes is {data.num_classes} but data.path has {len(found.classes)} class folders "
            f"({_names(found.classes)})",
            "remove data.num_classes (the folders say it) or fix the folders",
        )
    ]


def _test_classes(train: Listing, test: Listing) -> list[Problem]:
    unknown = [c for c in test.classes if c not in train.classes]
    if not unknown:
        return []
    return [
        pb.error(
            "image-folder-layout",
            TEST_PATH,
            f"data.test_path has class folders data.path lacks: {_names(tuple(unknown))}",
            "give the test folder the same class folder names as data.path",
        )
    ]


def _refused(data: DataSpec) -> list[Problem]:
    """What an image folder cannot give: one class id per image is all it knows."""
    if data.task != "classification":
        key, why = ("data", "task"), f"data.task is {data.task}"
    elif data.labels == "multi_hot" or data.per_step:
        key, why = ("data", "labels"), "multi-label or per-step labels are asked for"
    else:
        return []
    return [
        pb.error(
            "data-option-conflict",
            key,
            f"data.source 'image_folder' gives one class per image (its folder), but {why}",
            "use data.labels sparse or one_hot with data.task classification, or another data.source",
        )
    ]


def _split_problems(n: int, data: DataSpec) -> list[Problem]:
    from ktrun.data.splits import split_problems

    used = min(n, data.limit) if data.limit is not None else n
    return split_problems(n, used, data) if n else []


def _shape(data: DataSpec) -> tuple[int, ...]:
    return (*data.image_size, CHANNELS[data.color_mode])


def _target(data: DataSpec, classes: int | None) -> tuple[int, ...] | None:
    if data.labels == "one_hot":
        return (classes,) if classes is not None else None
    return ()


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _names(names: tuple[str, ...]) -> str:
    from ktrun.data.files import shown

    listed = ", ".join(shown(n, 40) for n in names[:NAMED])
    return listed + (", ..." if len(names) > NAMED else "")


def size(n: int) -> str:
    from ktrun.data.files import size as shown_size

    return shown_size(n)


def _shown(path: Path) -> str:
    from ktrun.data.files import shown_path

    return shown_path(path)


SOURCE = ImageFolder()
