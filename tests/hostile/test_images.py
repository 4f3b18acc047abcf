"""Hostile image folders: special files, links out of the folder, forged headers, huge files, names
made to break a terminal.

Each case builds a small folder in `tmp_path` and asserts both places ktrun reads it: `ktrun check`
(code, key, hint, no raw echo) and the run's `load_dataset` with the real (TensorFlow) decoder.
`check` never follows a linked file (it may point anywhere), so a few cases are the run's alone.
"""

from __future__ import annotations

import os
import signal
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ktrun.data.load import DataError, load_dataset
from ktrun.pipeline import check_one
from ktrun.problems import Problem
from tests.hostile.expect import problem, show

Maker = Callable[[Path], Path]


def folder(d: Path, per_class: int = 3) -> Path:
    root = d / "images"
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((6, 6, 3), 40 * i, dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def png_claiming(width: int, height: int) -> bytes:
    """A PNG signature and header chunk (valid CRC) claiming `width` x `height`, then nothing."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def with_file(name: str, make: Callable[[Path], None]) -> Maker:
    def build(d: Path) -> Path:
        root = folder(d)
        make(root / "cats" / name)
        return root

    return build


def truncated(path: Path) -> None:
    Image.fromarray(np.zeros((40, 40, 3), dtype=np.uint8)).save(path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 30])


def fifo_as_folder(d: Path) -> Path:
    os.mkfifo(d / "images")
    return d / "images"


@dataclass(frozen=True)
class Case:
    id: str
    make: Maker
    code: str
    says: str
    check: bool = True  # check finds it too (False: only the run, which follows links and decodes)


CASES = [
    Case("folder-is-a-fifo", fifo_as_folder, "image-folder-layout", "is not a folder"),
    Case("folder-is-dev-zero", lambda d: Path("/dev/zero"), "image-folder-layout", "is not a folder"),
    Case("fifo-image", with_file("pipe.png", os.mkfifo), "image-file-unreadable", "not a regular file"),
    Case(
        "bomb-header",
        with_file("bomb.png", lambda p: p.write_bytes(png_claiming(100_000, 100_000))),
        "image-file-unreadable",
        "claims 100000 x 100000 pixels",
    ),
    Case(
        "huge-sparse-file",
        with_file("big.png", lambda p: os.truncate(os.open(p, os.O_CREAT | os.O_WRONLY), 300 << 20)),
        "image-file-unreadable",
        "more than ktrun reads as one image",
    ),
    Case(
        "empty-file",
        with_file("empty.jpg", lambda p: p.write_bytes(b"")),
        "image-file-unreadable",
        "is empty",
    ),
    Case(
        "script-named-png",
        with_file("run.png", lambda p: p.write_text("#!/bin/sh\nrm -rf /\n")),
        "image-file-unreadable",
        "is not a BMP, GIF, JPEG or PNG",
    ),
    Case(
        "link-to-passwd",
        with_file("leak.png", lambda p: p.symlink_to("/etc/passwd")),
        "image-file-unreadable",
        "is not a BMP, GIF, JPEG or PNG",
        check=False,
    ),
    Case(
        "dangling-link",
        with_file("gone.png", lambda p: p.symlink_to(p.parent / "nowhere.png")),
        "image-file-unreadable",
        "No such file",
        check=False,
    ),
    Case(
        "truncated-png",
        with_file("cut.png", truncated),
        "image-file-unreadable",
        "cannot be decoded",
        check=False,
    ),
    Case(
        "terminal-escape-name",
        with_file("\x1b[31mred\x1b[0m.png", lambda p: p.write_text("x")),
        "image-file-unreadable",
        "red",
    ),
]


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A FIFO or a device that blocks would hang the suite: fail the case instead."""

    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError("reading the image folder blocked")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def no_raw_echo(problems: list[Problem]) -> None:
    for p in problems:
        assert len(p.message) < 700, p.message[:200]
        assert not any(ord(c) < 32 or c == "\x7f" for c in p.message + p.hint), repr(p.message)
        assert "root:" not in p.message  # nothing of a linked file's content


@pytest.mark.keras
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_and_run_report_the_image_folder_problem(case: Case, tmp_path: Path) -> None:
    from ktrun.runtime.streams import image_decoder

    path = case.make(tmp_path)
    overrides = ["data=image_folder", f"data.path={path}", "data.image_size=[6,6]", "model=none"]
    overrides += ["+model.layers=[{type: Flatten}, {type: Dense, units: 2, activation: softmax}]"]
    report = check_one(overrides)
    if case.check:
        found = problem(report.problems, case.code, key="data.path", override=f"data.path={path}")
        assert case.says in found.message, found.message
        assert report.failed()
    no_raw_echo(report.problems)
    spec = report.ctx.spec if report.ctx is not None else None
    assert spec is not None, show(report.problems)
    with pytest.raises(DataError) as err:
        load_dataset(spec.data, (6, 6, 3), None, 0, images=image_decoder)
    found = problem(err.value.problems, case.code, key="data.path")
    assert case.says in found.message, found.message
    no_raw_echo(err.value.problems)


def test_every_case_has_its_own_id() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
