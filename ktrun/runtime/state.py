"""The search's state directory as a resource that can be busy, damaged, full or read-only.

- One run at a time: `StateLock` holds an `fcntl.flock` on `ktrun.lock` in the state dir (the
  kernel drops it when the process dies, so a stale lock is taken over without a word).
- Damage never blocks a search: a file that cannot be read is moved aside to
  `<file>.damaged-<timestamp>` with one line saying so, and what is intact is kept.
- Disks: both directories are probed before any training (exit 2), and a write that fails mid
  search (ENOSPC, EROFS, EACCES) becomes a `DiskError` with the file and a one-line reason.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ktrun.problems import Problem, error

LOCK_FILE = "ktrun.lock"
#: errno values that mean "this disk cannot take the write", not a bug in the trial.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
#: Less free space than this on the state or run disk refuses the search before training.
MIN_FREE = 1 << 20
OVERWRITE_HINT = "to start this search over, run the same command with tuner.overwrite=true"


class SearchRefused(Exception):
    """The search cannot start (busy or unusable state): exit 2 with these problems, no training."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class DiskError(OSError):
    """A write the search needs failed because of the disk: the search stops with exit 1."""


def disk_error(e: OSError, path: str | os.PathLike[str] | None = None) -> DiskError | None:
    """`e` as a `DiskError` when its errno is about the disk (None for other OS errors)."""
    if isinstance(e, DiskError):
        return e
    if e.errno not in DISK_ERRNOS:
        return None
    where = path if path is not None else e.filename
    return DiskError(e.errno, f"could not write {where}: {os.strerror(e.errno or 0)}")


def describe(e: OSError) -> str:
    """One line for an OS error: what failed and why, without Python's repr."""
    if isinstance(e, DiskError):
        return str(e.strerror)
    where = f" {e.filename}" if e.filename else ""
    return f"could not write{where}: {e.strerror or e}"


# ---------------------------------------------------------------------------------- damage


def move_aside(path: Path) -> Path:
    """Keep a damaged file for a post-mortem, out of every reader's way."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, target)
    return target


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; ValueError (with why) for anything else, bytes included."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text (byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, not an object")
    return data


def damaged_line(path: Path, reason: str, aside: Path, salvaged: str) -> str:
    return f"damaged state {path}: {reason}; moved to {aside.name}; {salvaged}"


def repair_json_file(path: Path, what: str, say: Callable[[str], Any]) -> bool:
    """Move `path` aside when it is not a JSON object; True when it was damaged."""
    if not path.is_file():
        return False
    try:
        read_json_object(path)
    except ValueError as e:
        say(damaged_line(path, str(e), move_aside(path), what))
        return True
    return False


# ------------------------------------------------------------------------------------ lock


class StateLock:
    """An exclusive `flock` on the state dir's lock file for as long as the search runs."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            os.close(fd)
            raise SearchRefused(
                [
                    error(
                        "state-locked",
                        ("tuner", "state_dir"),
                        f"this search is already running in {self.path.parent}: {holder}",
                        "wait for it to finish, or stop that process (its completed trials are "
                        "kept and this command resumes them); to run a separate search at the same "
                        "time, give it another tuner.state_dir",
                    )
                ]
            ) from None
        info = {
            "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": shlex.join(["ktrun", *sys.argv[1:]]),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock; the file stays as a harmless record
            self.fd = None


def _lock_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return f"pid {info['pid']} since {info['since']} ({info['command']})"
    except (ValueError, KeyError, TypeError, OSError):
        return "another process holds its lock"


# ---------------------------------------------------------------------------- disk probes


def probe_dir(path: Path, key: str) -> Problem | None:
    """A problem when `path` cannot hold the files a search writes (checked before training)."""
    hint = f"set {key}= to a writable directory" + (
        " (or fix the permissions of the one given)" if key == "tuner.state_dir" else ""
    )
    try:
        if path.exists() and not path.is_dir():
            return error(
                "dir-not-a-directory", tuple(key.split(".")), f"{path} is a file, not a directory", hint
            )
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".ktrun-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
        if free_bytes(path) < MIN_FREE:  # an empty file fits on a full disk; a trial does not
            return error(
                "dir-full",
                tuple(key.split(".")),
                f"cannot write to {path}: No space left on device ({free_bytes(path)} bytes free)",
                f"free some space on that disk, or set {key}= to a directory on another disk",
            )
    except OSError as e:
        reason = e.strerror or str(e)
        return error("dir-not-writable", tuple(key.split(".")), f"cannot write to {path}: {reason}", hint)
    return None


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@contextmanager
def written_via_temp(target: Path, need: int = 0) -> Iterator[Path]:
    """Yield a temp path on another disk for a library (HDF5, zip) to write; then copy it to
    `target` with plain Python writes and rename.

    HDF5 crashes the process (a segfault, not an exception) when the disk fills under it. Here
    it writes to the temp dir, after checking that it has `need` bytes free; the copy to the
    real disk raises a clean OSError, and a failed copy never leaves a file under `target`'s name.
    """
    tmp_root = Path(tempfile.gettempdir())
    if need and free_bytes(tmp_root) < need:
        raise DiskError(
            errno.ENOSPC, f"could not write {target}: no space left in {tmp_root} for a temporary copy"
        )
    with tempfile.TemporaryDirectory(prefix="ktrun-") as scratch:
        out = Path(scratch) / target.name
        yield out
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, partial)
            os.replace(partial, target)
        except OSError as e:
            partial.unlink(missing_ok=True)
            raise (disk_error(e, target) or e) from None
