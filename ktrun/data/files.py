"""Opening and reading local data files as hostile input, for `ktrun check` and the run alike.

Both read a file through these functions, so they cannot disagree about it (they once did: check
read csv as utf-8, the run as utf-8-sig). `data.path` may point at anything a careless user or an
attacker can name, so a file is stat-ed before it is opened (opening a FIFO blocks), opened without
blocking, never unpickled, and an array's size is taken from its .npy header and compared with the
bytes the zip really holds, and with a cap, before anything is allocated. Every failure is a
`DataError` whose problems name the config key to fix; nothing echoes a huge or raw value.

One module of about 450 lines on purpose: every reader shares the same opening discipline and
size caps, which the hostile-input suite tightens in one place.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import stat
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from numpy.typing import NDArray

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.config.trust import clip
from ktrun.data.raw import DataError
from ktrun.problems import Problem

Array = NDArray[Any]
PATH: KeyPath = ("data", "path")
#: No single array may claim more than this (a forged header or a zip bomb claims terabytes).
MAX_ARRAY_BYTES = 16 << 30
#: A csv is parsed into Python strings (tens of bytes per cell): beyond this, an .npz is the format.
MAX_CSV_BYTES = 1 << 30
#: Echoed values (cells, names, error texts) are cut to this many characters.
SHOWN = 60
#: Why a file's reading failed, beyond OSError: what zipfile, zlib and numpy's header parser raise.
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    SyntaxError,
    NotImplementedError,
    RuntimeError,
    zipfile.BadZipFile,
    zlib.error,
    tokenize.TokenError,  # numpy parses a .npy header with tokenize and ast.literal_eval
)


def shown(value: object, limit: int = SHOWN) -> str:
    """A cell, name or error text from the user's file, as a message may echo it (`trust.clip`)."""
    return clip(value, limit)


def quoted(value: object, limit: int = SHOWN) -> str:
    """`shown`, in quotes (not `repr`, which would double the escapes' backslashes)."""
    return f"'{shown(value, limit)}'"


def shown_path(path: Path) -> str:
    """A path for a message; a relative one also says where it was looked for (the working directory)."""
    if path.is_absolute():
        return shown(path, 160)
    return f"{shown(path, 160)} (relative to {shown(Path.cwd(), 160)})"


def size(n: int) -> str:
    """Bytes for people: 1.5 GB, 12 kB, 7 bytes."""
    for unit, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} bytes"


def unreadable(path: Path, why: str, hint: str, key: KeyPath = PATH) -> DataError:
    return DataError([pb.error("data-file-unreadable", key, f"{shown_path(path)} {why}", hint)])


def too_large(path: Path, what: str, claimed: int, cap: int, hint: str, key: KeyPath = PATH) -> DataError:
    return DataError(
        [
            pb.error(
                "data-file-too-large",
                key,
                f"{what} in {shown_path(path)} is {size(claimed)}, more than ktrun reads ({size(cap)})",
                hint,
            )
        ]
    )


# ---------------------------------------------------------------- opening


@contextmanager
def open_data(name: str, hint: str) -> Iterator[tuple[Path, IO[bytes]]]:
    """`data.path` opened for reading, if it is a regular file; otherwise a `DataError` saying what it is.

    `stat` comes first (opening a FIFO waits for a writer forever); the open itself does not block
    either, and the opened file is checked again, in case the path was swapped in between.
    """
    path = Path(name).expanduser()
    try:
        _require_regular(path, os.stat(path).st_mode, hint)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise _open_error(path, e, hint) from None
    with os.fdopen(fd, "rb") as fh:
        _require_regular(path, os.fstat(fd).st_mode, hint)
        os.set_blocking(fd, True)
        yield path, fh


def kind_of(mode: int) -> str:
    """What a path that is no regular file is, for a message ("a named pipe (FIFO)")."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _require_regular(path: Path, mode: int, hint: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise unreadable(path, "is a directory, not a file", "point data.path at a file inside it")
    kind = kind_of(mode)
    raise unreadable(
        path,
        f"is {kind}, not a regular file",
        "copy the data into a regular file: ktrun reads it twice (check, then run) and checks its size first",
    )


def open_error(path: Path, e: OSError, hint: str) -> DataError:
    """Why `path` could not be stat-ed or opened, as the user's problem (a directory of shards too)."""
    return _open_error(path, e, hint)


def _open_error(path: Path, e: OSError, hint: str) -> DataError:
    if e.errno == errno.ENOENT and path.is_symlink():
        target = shown(os.readlink(path), 160)
        return DataError(
            [
                pb.error(
                    "data-file-missing",
                    PATH,
                    f"{shown_path(path)} is a symbolic link to {target}, which does not exist",
                    "fix the link or point data.path at the file itself",
                )
            ]
        )
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        parent = path.parent
        where = "" if parent.is_dir() else f" (nor does its directory {shown(parent, 160)})"
        return DataError(
            [pb.error("data-file-missing", PATH, f"{shown_path(path)} does not exist{where}", hint)]
        )
    if e.errno == errno.ELOOP:
        return unreadable(
            path, "is a loop of symbolic links", "point data.path at the file itself, not at a link to itself"
        )
    if e.errno in (errno.EACCES, errno.EPERM):
        return unreadable(
            path,
            "cannot be read: permission denied",
            "give the user running ktrun read access to the file and its directories (chmod), or copy it",
        )
    return unreadable(path, f"cannot be opened: {shown(e.strerror or e)}", hint)


# ---------------------------------------------------------------- .npz


@dataclass(frozen=True)
class NpyHeader:
    """One array of an .npz as its .npy header describes it: nothing of it has been read yet."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    member: zipfile.ZipInfo
    offset: int  # bytes of the member before the array data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class Npz:
    """An open .npz: which arrays it holds, each array's checked header, and the array itself."""

    def __init__(self, path: Path, fh: IO[bytes], hint: str) -> None:
        self.path, self.hint = path, hint
        head = fh.read(6)
        fh.seek(0)
        if not head:
            raise unreadable(path, "is empty", hint)
        if head == b"\x93NUMPY":
            raise unreadable(path, "holds a single .npy array, not an .npz archive of named arrays", hint)
        try:
            self.zip = zipfile.ZipFile(fh)
        except _READ_ERRORS as e:
            why = (
                "is a damaged or truncated zip archive"
                if head.startswith(b"PK")
                else "is not an .npz archive (not a zip file)"
            )
            raise unreadable(path, f"{why}: {shown(e)}", hint) from None
        self.members = {i.filename: i for i in self.zip.infolist() if not i.is_dir()}

    @property
    def arrays(self) -> list[str]:
        return sorted(name[:-4] for name in self.members if name.endswith(".npy"))

    def require(self, keys: dict[str, KeyPath]) -> None:
        """Every key names an array of the file, or one problem listing the missing ones."""
        missing = [k for k in keys if f"{k}.npy" not in self.members and k not in self.members]
        if not missing:
            return
        held = self.arrays
        listed = ", ".join(quoted(a) for a in held[:10]) + (", ..." if len(held) > 10 else "")
        others = len(self.members) - len(held)
        raise DataError(
            [
                pb.error(
                    "data-file-keys",
                    keys[missing[0]],
                    f"{shown_path(self.path)} has no array {', '.join(quoted(m) for m in missing)} "
                    f"(it holds {listed or 'no arrays'}"
                    + (f", and {others} files that are not .npy arrays" if others else "")
                    + ")",
                    self.hint,
                )
            ]
        )

    def header(self, key: str, where: KeyPath) -> NpyHeader:
        """The array's header, checked: numeric, and no bigger than the bytes the zip really holds."""
        info = self.members.get(f"{key}.npy")
        name = quoted(key)
        if info is None:
            raise unreadable(self.path, f"holds a file {name} that is not a .npy array", self.hint, where)
        try:
            with self.zip.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
                offset = member.tell()
        except _READ_ERRORS as e:
            raise unreadable(
                self.path,
                f"has an array {name} that is not a readable .npy array: {shown(e)}",
                self.hint,
                where,
            ) from None
        header = NpyHeader(key, tuple(int(d) for d in shape), np.dtype(dtype), bool(fortran), info, offset)
        if any(d < 0 for d in header.shape):
            raise unreadable(
                self.path, f"has an array {name} with a negative size {header.shape}", self.hint, where
            )
        self._check_dtype(header, where)
        held = info.file_size - offset
        if header.nbytes > held:
            raise unreadable(
                self.path,
                f"has an array {name} whose header claims shape {header.shape} of {header.dtype} "
                f"({size(header.nbytes)}) but the file holds {size(max(held, 0))} of it: "
                "it is truncated or forged",
                "write the file again with numpy.savez",
                where,
            )
        if header.nbytes > MAX_ARRAY_BYTES:
            raise too_large(
                self.path,
                f"array {name} ({header.shape} of {header.dtype})",
                header.nbytes,
                MAX_ARRAY_BYTES,
                "use data.limit on a smaller file, or a smaller dtype (float32, uint8)",
                where,
            )
        return header

    def _check_dtype(self, header: NpyHeader, where: KeyPath) -> None:
        dtype, name = header.dtype, quoted(header.key)
        if dtype.hasobject:
            why = f"array {name} holds Python objects (a pickle), which ktrun never loads (it can run code)"
        elif dtype.kind in "biufUS":
            return
        else:
            kinds = {
                "c": "complex numbers",
                "V": "records (a structured dtype)",
                "M": "dates",
                "m": "time spans",
            }
            why = (
                f"array {name} holds {kinds.get(dtype.kind, str(dtype))} ({shown(dtype)}), not plain numbers"
            )
        raise DataError(
            [
                pb.error(
                    "data-not-numeric",
                    where,
                    f"{why}, in {shown_path(self.path)}",
                    "save plain numbers: numpy.savez(path, x=x.astype('float32'), y=y.astype('int64'))",
                )
            ]
        )

    def read(self, header: NpyHeader, where: KeyPath) -> Array:
        """The array, read into memory the header already checked (never through pickle)."""
        buffer = bytearray(header.nbytes)  # the size the header claims, already checked
        try:
            with self.zip.open(header.member) as member:
                member.seek(header.offset)
                done = 0
                while done < header.nbytes:
                    chunk = member.read(min(1 << 24, header.nbytes - done))
                    if not chunk:
                        raise EOFError(f"the data ends after {done} of {header.nbytes} bytes")
                    buffer[done : done + len(chunk)] = chunk
                    done += len(chunk)
        except _READ_ERRORS as e:
            raise unreadable(
                self.path, f"has a damaged array {quoted(header.key)}: {shown(e)}", self.hint, where
            ) from None
        order: Literal["C", "F"] = "F" if header.fortran_order else "C"
        array: Array = np.frombuffer(buffer, dtype=header.dtype).reshape(header.shape, order=order)
        return array


# ---------------------------------------------------------------- csv


@dataclass
class CsvTable:
    """A csv's cells as text: the header, the non-blank rows and their file lines, the label column."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    label: int


CSV_HINT = "give a utf-8 csv with a header row and one row per sample"
LABEL_HINT = "set data.label_column to a column name or index (negative counts from the end)"


def read_csv(path: Path, fh: IO[bytes], label_column: str | int) -> CsvTable:
    """Every row of the csv, each as wide as the header, and the label column's index."""
    length = os.fstat(fh.fileno()).st_size
    if length > MAX_CSV_BYTES:
        raise too_large(
            path,
            "the csv",
            length,
            MAX_CSV_BYTES,
            "save large tables as .npz (data.source: npz): no text to parse",
        )
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] = []
    line = 0
    try:
        with io.TextIOWrapper(fh, encoding="utf-8-sig", newline="") as text:  # closes fh too
            reader = csv.reader(text, strict=True)
            header = [h.strip() for h in next(reader, [])]
            line = reader.line_num
            for row in reader:
                line = reader.line_num
                if any(cell.strip() for cell in row):  # blank lines are not samples
                    rows.append(row)
                    lines.append(line)
    except UnicodeDecodeError as e:
        bad = e.object[e.start : e.start + 1].hex()
        raise unreadable(
            path,
            f"is not utf-8 text: byte 0x{bad} after line {line}",
            "save the file as utf-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)",
        ) from None
    except csv.Error as e:
        raise unreadable(
            path,
            f"is not a well-formed csv after line {line}: {shown(e)}",
            'quote a value with commas or quotes as "a ""quoted"" value", close every quote, '
            f"and keep each value under {csv.field_size_limit()} characters",
        ) from None
    except OSError as e:
        raise unreadable(path, f"cannot be read: {shown(e.strerror or e)}", CSV_HINT) from None
    if not any(header):
        raise unreadable(path, "is empty" if not header else "has an empty header row", CSV_HINT)
    label = _label_index(path, label_column, header)
    if not rows:
        raise DataError(
            [
                pb.error(
                    "data-too-small", PATH, f"{shown_path(path)} has a header row but no data rows", CSV_HINT
                )
            ]
        )
    ragged = [(line, len(row)) for row, line in zip(rows, lines, strict=True) if len(row) != len(header)]
    if ragged:
        line, width = ragged[0]
        raise unreadable(
            path,
            f"has rows of the wrong width: line {line} has {width} fields but the header has {len(header)} "
            f"({len(ragged)} {'row' if len(ragged) == 1 else 'rows'} like that)",
            "every row needs one value per header column (quote values that contain commas)",
        )
    return CsvTable(header, rows, lines, label)


def _label_index(path: Path, column: str | int, header: list[str]) -> int:
    """The label column's index: an index in range, or a name that appears exactly once."""
    key: KeyPath = ("data", "label_column")
    columns = ", ".join(shown(h, 30) for h in header[:20]) + (
        f", ... ({len(header)} in all)" if len(header) > 20 else ""
    )
    if isinstance(column, int):
        if -len(header) <= column < len(header):
            return column % len(header)
        why = (
            f"label column {column} is out of range: {shown_path(path)} has {len(header)} columns ({columns})"
        )
        return _raise(pb.error("data-label-column", key, why, LABEL_HINT))
    found = [i for i, h in enumerate(header) if h == column.strip()]
    if len(found) == 1:
        return found[0]
    if found:
        why = (
            f"label column {quoted(column)} is ambiguous: {shown_path(path)} has it {len(found)} times "
            f"(columns {', '.join(str(i) for i in found)})"
        )
        return _raise(
            pb.error("data-label-column", key, why, "rename the duplicates, or give the column's index")
        )
    why = f"label column {quoted(column)} is not in {shown_path(path)} (columns: {columns})"
    return _raise(pb.error("data-label-column", key, why, LABEL_HINT))


def _raise(problem: Problem) -> int:
    raise DataError([problem])


__all__ = ["CsvTable", "DataError", "NpyHeader", "Npz", "open_data", "read_csv", "shown"]
