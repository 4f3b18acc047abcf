"""Hostile shard directories (`data.source: shards`): special files named like shards, forged
headers, pickles, link loops and floods of files.

Each case builds a directory in `tmp_path` and asserts both places ktrun reads it: `ktrun check`
(exit 2: the problem's code, key, the override or file:line that set it, a hint, no `internal-*`)
and the run's pass before the first trial (`load_dataset` raises `DataError` with the same code).
"""

from __future__ import annotations

import os
import signal
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.data.load import DataError, load_dataset
from ktrun.data.sources import shards
from ktrun.pipeline import check_one
from ktrun.problems import Problem
from tests.conftest import run_cli
from tests.hostile.expect import clean_exit, problem, show
from tests.hostile.test_data import Boom, forged_npy, npy

Maker = Callable[[Path], Path]
SHAPE = (4, 4, 1)


def good(d: Path, shards_: int = 2) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for i in range(shards_):
        np.savez(d / f"part-{i}.npz", x=np.ones((10, *SHAPE), np.float32), y=np.arange(10) % 2)
    return d


def with_entry(make: Callable[[Path], object]) -> Maker:
    """Two good shards and one more entry, made by `make(directory)`."""

    def build(tmp: Path) -> Path:
        d = good(tmp / "d")
        make(d)
        return d

    return build


def forged(d: Path) -> None:
    with zipfile.ZipFile(d / "part-9.npz", "w") as zf:
        zf.writestr("x.npy", forged_npy((10**12, *SHAPE), "<f4"))
        zf.writestr("y.npy", npy(np.arange(10) % 2))


def big(d: Path) -> None:
    """A shard whose x (really) holds more bytes than ktrun reads (the cap made small)."""
    np.savez(d / "part-9.npz", x=np.ones((100, *SHAPE), np.float32), y=np.arange(100) % 2)


def pickled(d: Path) -> None:
    bomb = Boom()
    bomb.marker = str(d.parent / "UNPICKLED")
    np.savez(d / "part-9.npz", x=np.ones((10, *SHAPE)), y=np.array([bomb] * 10, dtype=object))


def loop_dir(tmp: Path) -> Path:
    (tmp / "a").symlink_to(tmp / "b")
    (tmp / "b").symlink_to(tmp / "a")
    return tmp / "a"


def empties(n: int) -> Maker:
    def build(tmp: Path) -> Path:
        d = tmp / "d"
        d.mkdir()
        for i in range(n):
            (d / f"e{i:06d}.npz").touch()
        return d

    return build


@dataclass(frozen=True)
class Case:
    id: str
    make: Maker
    code: str
    key: str = "data.path"
    says: tuple[str, ...] = ()  # pieces of the message
    patch: dict[str, int] = field(default_factory=dict)  # shards' limits, made small


CASES = [
    Case("fifo-named-like-a-shard", with_entry(lambda d: os.mkfifo(d / "x.npz")), "data-file-unreadable",
         says=("x.npz", "named pipe")),
    Case("directory-named-like-a-shard", with_entry(lambda d: (d / "y.npz").mkdir()), "data-file-unreadable",
         says=("y.npz", "is a directory")),
    Case("link-to-a-directory-named-like-a-shard", with_entry(lambda d: (d / "z.npz").symlink_to(d.parent)),
         "data-file-unreadable", says=("z.npz", "is a directory")),
    Case("device-named-like-a-shard", with_entry(lambda d: (d / "zero.npz").symlink_to("/dev/zero")),
         "data-file-unreadable", says=("zero.npz", "a device")),
    Case("link-loop-shard", with_entry(lambda d: (d / "loop.npz").symlink_to(d / "loop.npz")),
         "data-file-unreadable", says=("loop.npz", "loop of symbolic links")),
    Case("link-loop-directory", loop_dir, "data-file-unreadable", says=("loop of symbolic links",)),
    Case("missing-directory", lambda tmp: tmp / "nope", "data-file-missing", says=("does not exist",)),
    Case("shard-claims-1e12-rows", with_entry(forged), "data-file-unreadable", "data.x_key",
         says=("part-9.npz", "truncated or forged")),
    Case("shard-larger-than-the-cap", with_entry(big), "data-file-too-large", "data.x_key",
         says=("part-9.npz",), patch={"MAX_ARRAY_BYTES": 5000}),
    Case("pickled-labels-in-a-shard", with_entry(pickled), "data-not-numeric", "data.y_key",
         says=("part-9.npz", "never loads")),
    Case("empty-shard", with_entry(lambda d: (d / "part-5.npz").touch()), "data-file-unreadable",
         says=("part-5.npz", "is empty")),
    Case("not-a-zip", with_entry(lambda d: (d / "part-5.npz").write_bytes(b"x,y\n1,2\n")),
         "data-file-unreadable", says=("part-5.npz", "not a zip")),
    Case("too-many-shards", empties(shards.MAX_SHARDS + 1), "data-file-too-large",
         says=(f"more than {shards.MAX_SHARDS}",)),
    Case("too-many-entries", empties(60), "data-file-too-large", says=("entries",),
         patch={"MAX_ENTRIES": 50}),
    Case("a-flood-of-empty-shards", empties(200), "data-file-unreadable", says=("is empty",)),
]  # fmt: skip


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A FIFO or a device that blocks would hang the suite: fail the case instead."""

    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError("reading a shard blocked")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def check_and_run(overrides: list[str]) -> tuple[list[Problem], list[Problem], bool]:
    report = check_one(overrides)
    ctx = report.ctx
    assert ctx is not None, show(report.problems)
    with pytest.raises(DataError) as err:
        load_dataset(ctx.spec.data, ctx.input_shape or SHAPE, ctx.data.num_classes, ctx.spec.experiment.seed)
    return report.problems, err.value.problems, report.failed()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_and_run_report_the_shard_problem(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ktrun.data import files

    for name, value in case.patch.items():
        monkeypatch.setattr(shards if hasattr(shards, name) else files, name, value)
    path = case.make(tmp_path)
    overrides = ["data=shards", f"data.path={path}", "model.layers.3.units=2"]
    checked, ran, failed = check_and_run(overrides)
    override = overrides[1] if case.key == "data.path" else None
    file = None if override else "conf/data/shards.yaml"
    found = problem(checked, case.code, key=case.key, override=override, file=file)
    for piece in case.says:
        assert piece in found.message, found.message
    assert failed
    problem(ran, case.code, key=case.key)
    assert len(checked) <= shards.MAX_BAD_SHARDS + 2, show(checked)  # a flood is not echoed
    assert not (tmp_path / "UNPICKLED").exists(), "a pickle in a shard was loaded"


def test_the_run_on_a_fifo_shard_exits_2_without_blocking(tmp_path: Path) -> None:
    d = with_entry(lambda d: os.mkfifo(d / "x.npz"))(tmp_path)
    proc = run_cli("data=shards", f"data.path={d}", f"hydra.run.dir={tmp_path / 'run'}", timeout=120)
    out = clean_exit(proc, 2)
    assert "data-file-unreadable" in out and "named pipe" in out and "x.npz" in out


def test_every_case_has_its_own_id() -> None:
    ids: list[Any] = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
