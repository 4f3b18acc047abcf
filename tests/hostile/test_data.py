"""Hostile data files: missing, special, malformed, forged, huge, pickled or just careless.

Each case builds a tiny bad file in `tmp_path` and asserts, in process, both places ktrun reads it:
`ktrun check` (the problem's code, key, the override or file:line that set the key, a hint, no
`internal-*` code) and the run (`load_dataset` raises `DataError` with the same code). A few cases
go through the real command line, where the run must exit 2 without a traceback.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import signal
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.checks import CheckReport
from ktrun.data import files as datafiles
from ktrun.data.load import DataError, load_dataset
from ktrun.pipeline import check_one
from ktrun.problems import Problem
from tests.conftest import run_cli
from tests.hostile.expect import FORBIDDEN, clean_exit, cli_problem, problem, show

Maker = Callable[[Path], Path]


# ---------------------------------------------------------------- building bad files


def npz(**arrays: Any) -> Maker:
    """An .npz written by numpy itself (object arrays are pickled: numpy.save allows it)."""

    def make(d: Path) -> Path:
        np.savez(d / "d.npz", **arrays)
        return d / "d.npz"

    return make


def raw(content: bytes, name: str = "d.npz") -> Maker:
    def make(d: Path) -> Path:
        (d / name).write_bytes(content)
        return d / name

    return make


def text(content: str, name: str = "d.csv") -> Maker:
    return raw(content.encode("utf-8"), name)


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Maker:
    def make(d: Path) -> Path:
        with zipfile.ZipFile(d / "d.npz", "w", compression) as zf:
            for name, content in members.items():
                zf.writestr(name, content)
        return d / "d.npz"

    return make


def npy(array: Any) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def forged_npy(shape: tuple[int, ...], descr: str = "<f8", data: bytes = b"\0" * 64) -> bytes:
    """A .npy whose header claims `shape`, followed by only `data`."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def keras(**override: Any) -> Maker:
    """A Keras-format file (mnist's layout), with some arrays replaced or (None) left out."""
    rng = np.random.default_rng(0)
    arrays: dict[str, Any] = {
        "x_train": rng.integers(0, 255, (20, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(20) % 10).astype(np.uint8),
        "x_test": np.zeros((2, 28, 28), np.uint8),
        "y_test": np.zeros(2, np.uint8),
    }
    arrays.update(override)
    return npz(**{k: v for k, v in arrays.items() if v is not None})


X = np.ones((10, 3))
Y = np.arange(10) % 2


def with_nan(x: Any, row: int) -> Any:
    x = np.array(x, dtype=np.float64, order="K")
    x[row, 1] = np.nan
    return x


class Boom:
    """Unpickling this creates the marker file: the proof that a pickle was (never) loaded."""

    marker = ""

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.marker, "w"))


def pickled(key: str) -> Maker:
    def make(d: Path) -> Path:
        bomb = Boom()
        bomb.marker = str(d / "UNPICKLED")
        arrays: dict[str, Any] = {"x": X, "y": Y}
        arrays[key] = np.array([bomb] * 10, dtype=object)
        np.savez(d / "d.npz", **arrays)
        return d / "d.npz"

    return make


def fifo(name: str) -> Maker:
    def make(d: Path) -> Path:
        os.mkfifo(d / name)
        return d / name

    return make


def symlink_to(target: str, name: str = "d.csv") -> Maker:
    def make(d: Path) -> Path:
        (d / name).symlink_to(target)
        return d / name

    return make


def symlink_loop(d: Path) -> Path:
    (d / "a.npz").symlink_to(d / "b.npz")
    (d / "b.npz").symlink_to(d / "a.npz")
    return d / "a.npz"


def directory(d: Path) -> Path:
    (d / "data.csv").mkdir()
    return d / "data.csv"


def truncated_npz(d: Path) -> Path:
    np.savez(d / "full.npz", x=X, y=Y)
    content = (d / "full.npz").read_bytes()
    (d / "d.npz").write_bytes(content[: len(content) // 2])
    return d / "d.npz"


def csv_rows(header: str, rows: list[str], newline: str = "\n") -> Maker:
    return raw((newline.join([header, *rows]) + newline).encode("utf-8"), "d.csv")


GOOD_ROWS = [f"{i},{i * 2},{i % 2}" for i in range(10)]


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # npz, csv, mnist: the data group (`data=npz`)
    make: Maker
    code: str
    key: str = "data.path"
    overrides: tuple[str, ...] = ()
    says: str | None = None  # a piece of the message
    run: bool = True  # the run reports it too (False: only a check can, e.g. the check's budget)
    patch: dict[str, int] = field(default_factory=dict)  # datafiles limits, made tiny


CASES = [
    # -- paths: missing, special files, links, home and working directory
    Case("npz-missing", "npz", lambda d: d / "nope.npz", "data-file-missing", says="does not exist"),
    Case("csv-missing", "csv", lambda d: d / "nope.csv", "data-file-missing", says="does not exist"),
    Case(
        "missing-directory",
        "csv",
        lambda d: d / "nowhere" / "d.csv",
        "data-file-missing",
        says="nor does its directory",
    ),
    Case("a-file-as-directory", "csv", lambda d: text("a\n")(d) / "d.csv", "data-file-missing"),
    Case("name-too-long", "csv", lambda d: d / ("a" * 300 + ".csv"), "data-file-unreadable", says="too long"),
    Case("directory", "csv", directory, "data-file-unreadable", says="is a directory"),
    Case("npz-directory", "npz", lambda d: d, "data-file-unreadable", says="is a directory"),
    Case("csv-fifo", "csv", fifo("d.csv"), "data-file-unreadable", says="named pipe"),
    Case("npz-fifo", "npz", fifo("d.npz"), "data-file-unreadable", says="named pipe"),
    Case("keras-fifo", "mnist", fifo("mnist.npz"), "data-file-unreadable", says="named pipe"),
    Case("device", "csv", symlink_to("/dev/zero"), "data-file-unreadable", says="a device"),
    Case("symlink-loop", "npz", symlink_loop, "data-file-unreadable", says="loop of symbolic links"),
    Case(
        "dangling-symlink", "csv", symlink_to("/nonexistent/x.csv"), "data-file-missing", says="symbolic link"
    ),
    Case(
        "symlink-to-escape-codes",
        "csv",
        symlink_to("/nonexistent/\x1b[2J\x07.csv"),
        "data-file-missing",
        says="\\x1b[2J\\x07",
    ),
    # -- npz containers
    Case("npz-empty-file", "npz", raw(b""), "data-file-unreadable", says="is empty"),
    Case("npz-single-npy", "npz", raw(npy(X)), "data-file-unreadable", says="single .npy"),
    Case("npz-text", "npz", raw(b"x,y\n1,2\n"), "data-file-unreadable", says="not a zip"),
    Case("npz-truncated", "npz", truncated_npz, "data-file-unreadable", says="truncated"),
    Case("npz-csv-given", "csv", npz(x=X, y=Y), "data-file-unreadable", says="not utf-8"),
    Case("zip-not-npz", "npz", zipped({"readme.txt": b"hello"}), "data-file-keys", "data.x_key"),
    Case("zip-empty", "npz", zipped({}), "data-file-keys", "data.x_key", says="no arrays"),
    Case("npz-no-y", "npz", npz(x=X), "data-file-keys", "data.y_key"),
    Case("npz-renamed-keys", "npz", npz(x=X, y=Y), "data-file-keys", "data.x_key", ("data.x_key=features",)),
    Case(
        "member-not-npy", "npz", zipped({"x": b"abc", "y.npy": npy(Y)}), "data-file-unreadable", "data.x_key"
    ),
    Case(
        "npy-garbage",
        "npz",
        zipped({"x.npy": b"garbage!", "y.npy": npy(Y)}),
        "data-file-unreadable",
        "data.x_key",
    ),
    Case(
        "npy-unknown-version",
        "npz",
        zipped({"x.npy": b"\x93NUMPY\x09\x00" + b"\0" * 64, "y.npy": npy(Y)}),
        "data-file-unreadable",
        "data.x_key",
    ),
    Case(
        "npy-bad-header",
        "npz",
        zipped({"x.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': lambda}", "y.npy": npy(Y)}),
        "data-file-unreadable",
        "data.x_key",
    ),
    Case(
        "header-claims-1e12-rows",
        "npz",
        zipped({"x.npy": forged_npy((10**12, 3)), "y.npy": npy(Y)}),
        "data-file-unreadable",
        "data.x_key",
        says="truncated or forged",
    ),
    Case(
        "header-claims-huge-strings",
        "npz",
        zipped({"x.npy": forged_npy((10, 3), "<U1000000000"), "y.npy": npy(Y)}),
        "data-file-unreadable",
        "data.x_key",
    ),
    Case(
        "header-negative-shape",
        "npz",
        zipped({"x.npy": forged_npy((-10, 3)), "y.npy": npy(Y)}),
        "data-file-unreadable",
        "data.x_key",
    ),
    Case(
        "zip-bomb-member",
        "npz",
        zipped({"x.npy": npy(np.zeros((20_000, 64))), "y.npy": npy(np.zeros(20_000))}, zipfile.ZIP_DEFLATED),
        "data-file-too-large",
        "data.x_key",
        patch={"MAX_ARRAY_BYTES": 1 << 20},
    ),
    # -- npz contents
    Case("pickled-labels", "npz", pickled("y"), "data-not-numeric", "data.y_key", says="never loads"),
    Case("pickled-features", "npz", pickled("x"), "data-not-numeric", "data.x_key", says="never loads"),
    Case("complex", "npz", npz(x=X * 1j, y=Y), "data-not-numeric", "data.x_key", says="complex"),
    Case(
        "structured",
        "npz",
        npz(x=np.zeros(10, dtype=[("a", "f4"), ("b", "i4")]), y=Y),
        "data-not-numeric",
        "data.x_key",
        says="structured",
    ),
    Case("datetime", "npz", npz(x=np.zeros((10, 3), "datetime64[s]"), y=Y), "data-not-numeric", "data.x_key"),
    Case("words", "npz", npz(x=np.full((10, 3), "cat"), y=Y), "data-not-numeric", "data.x_key", says="'cat'"),
    Case("length-mismatch", "npz", npz(x=X, y=np.arange(7) % 2), "data-length-mismatch", "data.y_key"),
    Case("scalar-x", "npz", npz(x=np.float64(1.0), y=Y), "data-shape-mismatch", "data.x_key"),
    Case("scalar-y", "npz", npz(x=X, y=np.int64(1)), "data-shape-mismatch", "data.y_key"),
    Case(
        "no-rows",
        "npz",
        npz(x=np.zeros((0, 3)), y=np.zeros(0, int)),
        "data-too-small",
        "data.validation_split",
    ),
    Case("nan", "npz", npz(x=with_nan(X, 3), y=Y), "data-not-finite", "data.x_key", says="row 3"),
    Case(
        "fortran-order-nan",
        "npz",
        npz(x=np.asfortranarray(with_nan(np.arange(30.0).reshape(10, 3), 6)), y=Y),
        "data-not-finite",
        "data.x_key",
        says="row 6",
    ),
    Case(
        "inf-targets",
        "npz",
        npz(x=X, y=np.array([0.5] * 9 + [np.inf])),
        "data-not-finite",
        "data.y_key",
        ("data.task=regression",),
    ),
    Case("half-labels", "npz", npz(x=X, y=np.arange(10) / 2), "data-label-type", "data.y_key", says="whole"),
    Case("text-labels", "npz", npz(x=X, y=np.array(["cat", "dog"] * 5)), "data-label-type", "data.y_key"),
    Case(
        "not-one-hot",
        "npz",
        npz(x=X, y=np.tile([[1.0, 1.0, 0.0]], (10, 1))),
        "data-label-type",
        "data.y_key",
        says="not one-hot",
    ),
    Case("label-cubes", "npz", npz(x=X, y=np.zeros((10, 2, 2))), "data-label-shape", "data.y_key"),
    Case(
        "negative-labels",
        "npz",
        npz(x=X, y=np.arange(10) - 3),
        "data-label-range",
        "data.y_key",
        says="start at 0",
    ),
    Case(
        "labels-1e12",
        "npz",
        npz(x=X, y=np.arange(10) * 10**11),
        "data-label-range",
        "data.y_key",
        says="classes",
    ),
    Case(
        "labels-beyond-num-classes",
        "npz",
        npz(x=X, y=np.arange(10)),
        "data-label-range",
        "data.num_classes",
        ("data.num_classes=3",),
    ),
    # -- Keras-format files (`data.source: mnist` with `data.path`)
    Case("keras-no-x_train", "mnist", keras(x_train=None), "data-file-keys", says="x_train"),
    Case("keras-pickled-y", "mnist", keras(y_train=np.array([None] * 20)), "data-not-numeric"),
    Case("keras-float-y", "mnist", keras(y_train=np.linspace(0, 1, 20)), "data-label-type"),
    Case("keras-13-classes", "mnist", keras(y_train=np.arange(20) % 13), "data-label-range"),
    Case("keras-directory", "mnist", lambda d: d, "data-file-unreadable"),
    # -- csv
    Case("csv-empty", "csv", text(""), "data-file-unreadable", says="is empty"),
    Case("csv-blank-lines", "csv", text("\n\n\n"), "data-file-unreadable", says="is empty"),
    Case("csv-header-only", "csv", text("a,b,y\n"), "data-too-small", says="no data rows"),
    Case(
        "csv-short-rows",
        "csv",
        csv_rows("a,b,y", ["1,2,0", "3,1", "4,5,1"]),
        "data-file-unreadable",
        says="line 3",
    ),
    Case(
        "csv-latin1", "csv", raw("a,b,y\n1,2,0\nm\u00fcnchen,3,1\n".encode("latin-1")), "data-file-unreadable"
    ),
    Case("csv-huge-field", "csv", text("a,b,y\n1," + "9" * 200_000 + ",0\n"), "data-file-unreadable"),
    Case("csv-unterminated-quote", "csv", text('a,b,y\n1,"2,0\n3,4,1\n'), "data-file-unreadable"),
    Case("csv-junk-after-quote", "csv", text('a,b,y\n1,"2"x,0\n'), "data-file-unreadable"),
    Case(
        "csv-too-large",
        "csv",
        csv_rows("a,b,y", GOOD_ROWS),
        "data-file-too-large",
        patch={"MAX_CSV_BYTES": 50},
    ),
    Case(
        "csv-label-1e400",
        "csv",
        csv_rows("a,b,y", [*GOOD_ROWS, "1,2,1e400"]),
        "data-not-finite",
        "data.label_column",
    ),
    Case(
        "csv-no-label-column",
        "csv",
        csv_rows("a,b,y", GOOD_ROWS),
        "data-label-column",
        "data.label_column",
        ("data.label_column=target",),
    ),
    Case(
        "csv-label-index-too-big",
        "csv",
        csv_rows("a,b,y", GOOD_ROWS),
        "data-label-column",
        "data.label_column",
        ("data.label_column=3",),
    ),
    Case(
        "csv-label-index-too-negative",
        "csv",
        csv_rows("a,b,y", GOOD_ROWS),
        "data-label-column",
        "data.label_column",
        ("data.label_column=-4",),
    ),
    Case(
        "csv-duplicate-label-name",
        "csv",
        csv_rows("y,b,y", GOOD_ROWS),
        "data-label-column",
        "data.label_column",
        ("data.label_column=y",),
        says="ambiguous",
    ),
    Case(
        "csv-5000-columns",
        "csv",
        csv_rows(",".join(f"c{i}" for i in range(5000)), [",".join(["1"] * 5000)] * 3),
        "data-label-column",
        "data.label_column",
        ("data.label_column=label",),
        says="5000 in all",
    ),
    Case(
        "csv-nul-byte", "csv", csv_rows("a,b,y", ["1,2\x003,0", *GOOD_ROWS]), "data-not-numeric", says="\\x00"
    ),
    Case(
        "csv-escape-codes",
        "csv",
        csv_rows("a,b,y", ["1,\x1b]0;pwned\x07,0", *GOOD_ROWS]),
        "data-not-numeric",
        says="\\x1b]0;pwned\\x07",
    ),
    Case(
        "csv-huge-word",
        "csv",
        csv_rows("a,b,y", [*GOOD_ROWS, "1," + "x" * 100_000 + ",0"]),
        "data-not-numeric",
    ),
    Case("csv-crlf", "csv", csv_rows("a,b,y", ["1,2,0", "3,x,1"], "\r\n"), "data-not-numeric", says="line 3"),
    Case("csv-cr", "csv", csv_rows("a,b,y", ["1,2,0", "3,x,1"], "\r"), "data-not-numeric", says="line 3"),
    Case(
        "csv-negative-labels",
        "csv",
        csv_rows("a,b,y", [*GOOD_ROWS, "1,2,-2"]),
        "data-label-range",
        "data.label_column",
    ),
    Case(
        "csv-half-labels",
        "csv",
        csv_rows("a,b,y", [*GOOD_ROWS, "1,2,0.5"]),
        "data-label-type",
        "data.label_column",
    ),
    Case("csv-missing-cells", "csv", csv_rows("a,b,y", [*GOOD_ROWS, "1,NA,1"]), "data-not-finite"),
]


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A FIFO or a device that blocks would hang the suite: fail the case instead."""

    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError("reading the data file blocked")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def where(overrides: list[str], key: str, source: str) -> tuple[str | None, str | None]:
    """(file, override): the override that set `key`, or else the data group's file."""
    for o in overrides:
        if o.split("=", 1)[0] == key:
            return None, o
    return f"conf/data/{source}.yaml", None


def check_and_run(overrides: list[str]) -> tuple[CheckReport, list[Problem]]:
    """`ktrun check`'s report, and the problems the run's `load_dataset` raises for the same config."""
    report = check_one(overrides)
    ctx = report.ctx
    assert ctx is not None, show(report.problems)
    with pytest.raises(DataError) as err:
        load_dataset(ctx.spec.data, ctx.input_shape or (3,), ctx.data.num_classes, ctx.spec.experiment.seed)
    return report, err.value.problems


def no_raw_echo(problems: list[Problem]) -> None:
    """No message echoes a huge value or a control character; nobody is told of '-2 classes'."""
    for p in problems:
        assert len(p.message) < 700, p.message[:200]
        assert not any(ord(c) < 32 or c == "\x7f" for c in p.message + p.hint), repr(p.message)
        assert not re.search(r"-\d+ classes|units: -", p.message + p.hint), p


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_and_run_report_the_data_problem(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in case.patch.items():
        monkeypatch.setattr(datafiles, name, value)
    path = case.make(tmp_path)
    overrides = [f"data={case.source}", f"data.path={path}", *case.overrides]
    report, run_problems = check_and_run(overrides)
    file, override = where(overrides, case.key, case.source)
    found = problem(report.problems, case.code, key=case.key, file=file, override=override)
    if case.says is not None:
        assert case.says in found.message, found.message
    no_raw_echo(report.problems)
    assert report.failed()  # exit 2 from check, and the run stops before its first trial
    if case.run:
        problem(run_problems, case.code, key=case.key)
        no_raw_echo(run_problems)
    assert not (tmp_path / "UNPICKLED").exists(), "a pickle in the data file was loaded"


# ---------------------------------------------------------------- paths relative to the user


def test_a_tilde_path_is_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    overrides = ["data=csv", "data.path='~/nope.csv'"]
    report, run_problems = check_and_run(overrides)
    found = problem(report.problems, "data-file-missing", key="data.path", override=overrides[1])
    assert str(tmp_path / "nope.csv") in found.message
    problem(run_problems, "data-file-missing", key="data.path")


def test_a_relative_path_names_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    csv_rows("a,b,y", GOOD_ROWS)(tmp_path / "data")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the file is at ../data/d.csv from here
    overrides = ["data=csv", "data.path=data/d.csv"]
    report, run_problems = check_and_run(overrides)
    found = problem(report.problems, "data-file-missing", key="data.path", override=overrides[1])
    assert f"relative to {tmp_path / 'elsewhere'}" in found.message
    problem(run_problems, "data-file-missing", key="data.path")


@pytest.mark.parametrize("source", ["npz", "csv"])
def test_an_empty_path_is_no_path(source: str) -> None:
    overrides = [f"data={source}", "data.path=''"]
    report, run_problems = check_and_run(overrides)
    problem(report.problems, "data-path-required", key="data.path", override=overrides[1])
    problem(run_problems, "data-path-required", key="data.path")


# ---------------------------------------------------------------- permissions (tests run as root)


def _as_nobody(work: Path, overrides: list[str]) -> tuple[list[Problem], list[Problem]]:
    """Check and run in a forked child that dropped root (root reads any file), from `work`."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        status = 0
        try:
            os.close(read_fd)
            os.chdir(work)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            report, run_problems = check_and_run(overrides)
            payload = pickle.dumps((report.problems, run_problems))
        except BaseException as e:  # reported by the parent
            payload = pickle.dumps(f"{type(e).__name__}: {e}")
            status = 1
        with os.fdopen(write_fd, "wb") as out:
            out.write(payload)
        os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as inp:
        result = pickle.loads(inp.read())
    os.waitpid(pid, 0)
    assert not isinstance(result, str), result
    checked, ran = result
    assert ran and {p.code for p in ran} <= {p.code for p in checked} | {"data-file-unreadable"}
    return list(checked), list(ran)


@pytest.mark.parametrize("what", ["file", "directory"])
def test_an_unreadable_file_or_directory(tmp_path: Path, what: str) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs fork to drop privileges")
    tmp_path.chmod(0o711)  # the child (nobody) may enter tmp_path, and nothing more
    (tmp_path / "sub").mkdir()
    csv_rows("a,b,y", GOOD_ROWS)(tmp_path / "sub")
    (tmp_path / "sub" / "d.csv").chmod(0o000 if what == "file" else 0o644)
    (tmp_path / "sub").chmod(0o711 if what == "file" else 0o000)
    overrides = ["data=csv", "data.path=sub/d.csv"]
    try:
        checked, ran = _as_nobody(tmp_path, overrides)
    finally:
        (tmp_path / "sub").chmod(0o755)
    p = problem(checked, "data-file-unreadable", key="data.path", override=overrides[1])
    assert "permission denied" in p.message
    problem(ran, "data-file-unreadable", key="data.path")  # the run finds it too


# ---------------------------------------------------------------- files that are fine after all


@pytest.mark.parametrize(
    "content",
    [
        "\ufeffy,a,b\n" + "".join(f"{i % 2},{i},{i * 2}\n" for i in range(10)),  # a byte-order mark
        "y,a,b\r\n" + "".join(f"{i % 2},{i},{i * 2}\r\n" for i in range(10)),  # Windows line ends
        "y,a,b\r" + "".join(f"{i % 2},{i},{i * 2}\r" for i in range(10)),  # old Mac line ends
    ],
    ids=["bom", "crlf", "cr"],
)
def test_careful_csv_variants_check_clean_and_load(tmp_path: Path, content: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8", newline="")
    report = check_one(["data=csv", f"data.path={path}", "data.label_column=y", "model.layers.3.units=2"])
    assert not [p for p in report.problems if p.code.startswith(("data-", "internal"))], show(report.problems)
    assert report.ctx is not None and report.ctx.data.input_shape == (2,)
    ds = load_dataset(report.ctx.spec.data, (2,), 2, seed=0)
    assert ds.x_train.shape == (8, 2) and ds.num_classes == 2


def test_a_big_npz_is_checked_by_its_headers_and_loaded_by_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the check's budget only headers are read; a NaN there is the run's to find."""
    monkeypatch.setattr("ktrun.data.describe.CHECK_BUDGET", 100)
    path = npz(x=with_nan(np.ones((40, 3)), 5), y=np.arange(40) % 2)(tmp_path)
    overrides = ["data=npz", f"data.path={path}", "model.layers.3.units=2"]
    report, run_problems = check_and_run(overrides)
    assert report.ctx is not None and report.ctx.data.input_shape == (3,)
    assert not [p for p in report.problems if p.code.startswith("data-")], show(report.problems)
    problem(run_problems, "data-not-finite", key="data.x_key")


def test_shown_cuts_and_escapes() -> None:
    assert datafiles.shown("a" * 1000) == "a" * 59 + "…"
    assert datafiles.shown("\x1b[31mred\x00") == "\\x1b[31mred\\x00"
    assert datafiles.shown("\u202etxt.exe") == "\\u202etxt.exe"  # a right-to-left override
    assert datafiles.shown("naïve") == "naïve"


# ---------------------------------------------------------------- the real command line


def test_run_on_a_fifo_exits_2_without_blocking(tmp_path: Path) -> None:
    path = fifo("d.csv")(tmp_path)
    proc = run_cli("data=csv", f"data.path={path}", f"hydra.run.dir={tmp_path / 'run'}", timeout=60)
    out = clean_exit(proc, 2)
    assert "data-file-unreadable" in out and "named pipe" in out and f"override `data.path={path}`" in out


def test_run_on_a_missing_csv_exits_2(tmp_path: Path) -> None:
    """Was an AssertionError with a traceback: check warned, then the run had no input shape."""
    path = tmp_path / "nope.csv"
    proc = run_cli("data=csv", f"data.path={path}", f"hydra.run.dir={tmp_path / 'run'}")
    out = clean_exit(proc, 2)
    assert "data-file-missing" in out and "does not exist" in out


def test_run_never_unpickles_labels(tmp_path: Path) -> None:
    path = pickled("y")(tmp_path)
    proc = run_cli("data=npz", f"data.path={path}", f"hydra.run.dir={tmp_path / 'run'}")
    out = clean_exit(proc, 2)
    assert "data-not-numeric" in out and "data.y_key" in out
    assert not (tmp_path / "UNPICKLED").exists()


def test_run_on_a_forged_npz_header_exits_2(tmp_path: Path) -> None:
    path = zipped({"x.npy": forged_npy((10**12, 3)), "y.npy": npy(Y)})(tmp_path)
    proc = run_cli("data=npz", f"data.path={path}", f"hydra.run.dir={tmp_path / 'run'}")
    out = clean_exit(proc, 2)
    assert "data-file-unreadable" in out and "MemoryError" not in out


def test_check_json_on_short_csv_rows(tmp_path: Path) -> None:
    path = csv_rows("a,b,y", ["1,2,0", "3"])(tmp_path)
    # run where the data lives: `ktrun check` reads data only inside the project
    proc = run_cli("check", "data=csv", f"data.path={path}", "--format", "json", cwd=path.parent)
    p = cli_problem(proc, "data-file-unreadable", key="data.path")
    assert p.get("override") == f"data.path={path}"
    assert not any(bad in proc.stdout for bad in FORBIDDEN)


def test_every_case_has_its_own_id() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 50


# ---------------------------------------------------------------- named arrays (several inputs)


@pytest.mark.parametrize(
    ("arrays", "code", "says"),
    [
        ({"meta": np.array([object()] * 12, dtype=object)}, "data-not-numeric", "pickle"),
        ({}, "data-file-keys", "no array 'meta'"),
        ({"meta": np.zeros((11, 2), dtype=np.float32)}, "data-length-mismatch", "11 rows"),
    ],
    ids=["pickled", "missing", "short"],
)
def test_a_named_input_array_that_is_pickled_missing_or_short(
    tmp_path: Path, arrays: dict[str, Any], code: str, says: str
) -> None:
    """The array a named input reads gets the checks x gets, named by the input's key."""
    from ktrun.data.named import arrays_of

    np.savez(
        tmp_path / "d.npz",
        image=np.zeros((12, 4), dtype=np.float32),
        y=np.zeros(12, dtype=np.int64),
        **arrays,
    )
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "named.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: npz\n  - override /model: none\n"
        f"experiment: {{name: named}}\ndata: {{path: {tmp_path / 'd.npz'}, num_classes: 2}}\n"
        "model:\n  inputs: {image: {}, meta: {shape: [2]}}\n  layers:\n"
        "    - {type: Concatenate, inputs: [image, meta]}\n"
        "    - {type: Dense, units: 2, activation: softmax}\n"
    )
    report = check_one(["+experiment=named"], extra=[conf])
    found = problem(report.problems, code, key="model.inputs.meta.array")
    assert says in found.message, found
    assert report.ctx is not None
    with pytest.raises(DataError) as e:
        load_dataset(report.ctx.spec.data, (4,), 2, 0, arrays=arrays_of(report.ctx.spec.model))
    assert problem(e.value.problems, code, key="model.inputs.meta.array")


# ---------------------------------------------------------------- csv columns (named inputs)

MIXED_MODEL = (
    "model:\n  inputs: {numbers: {}, kind: {array: COLUMN}}\n  layers:\n"
    "    - {type: Embedding, inputs: [kind], input_dim: 50, output_dim: 2}\n"
    "    - {type: Flatten, name: kind_vec}\n"
    "    - {type: Concatenate, inputs: [numbers, kind_vec]}\n"
    "    - {type: Dense, units: 2, activation: softmax}\n"
)


@pytest.mark.parametrize(
    ("content", "column", "kind", "code", "key", "says"),
    [
        (  # one 10 MB cell: past csv's field limit, refused before anything is kept
            b"a,t,y\n" + b"1,ok,0\n" * 8 + b"1," + b"w " * 5_000_000 + b",1\n",
            "t",
            "text",
            "data-file-unreadable",
            "data.path",
            "not a well-formed csv",
        ),
        (  # a text column with latin-1 bytes: the file is not utf-8
            "a,t,y\n1,caf\u00e9,0\n2,ok,1\n".encode("latin-1"),
            "t",
            "text",
            "data-file-unreadable",
            "data.path",
            "not utf-8",
        ),
        (  # a header with an escape sequence and markup, declared by a name that differs
            b"a,\x1b[31m<b>[red]t[/red]</b>,y\n" + b"1,x,0\n2,z,1\n" * 6,
            "\x1b[31m<b>[red]t</b>",
            "categorical",
            "data-column-unknown",
            "data.columns",
            "the csv does not have",
        ),
    ],
    ids=["text-cell-10MB", "text-not-utf8", "column-name-escapes-and-markup"],
)
def test_hostile_csv_columns(
    tmp_path: Path, content: bytes, column: str, kind: str, code: str, key: str, says: str
) -> None:
    """Categorical and text columns are read through the same guarded reader; names are shown escaped."""
    from ktrun.data.named import arrays_of

    (tmp_path / "d.csv").write_bytes(content)
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    quoted = '"' + column.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    (conf / "experiment" / "cols.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: csv\n  - override /model: none\n"
        f"experiment: {{name: cols}}\ndata: {{path: {tmp_path / 'd.csv'}, label_column: y, "
        f"columns: {{{quoted}: {kind}}}}}\n" + MIXED_MODEL.replace("COLUMN", quoted)
    )
    report = check_one(["+experiment=cols"], extra=[conf])
    found = [p for p in report.problems if p.code == code]
    assert found, show(report.problems)
    assert found[0].key.startswith(key) and says in found[0].message, found[0]
    no_raw_echo(report.problems)
    assert report.failed()
    assert report.ctx is not None
    with pytest.raises(DataError) as e:
        load_dataset(report.ctx.spec.data, (1,), 2, 0, arrays=arrays_of(report.ctx.spec.model))
    assert [p for p in e.value.problems if p.code == code and p.key.startswith(key)], show(e.value.problems)
    no_raw_echo(e.value.problems)


# ---------------------------------------------------------------- the test split


def two_files(d: Path, test: dict[str, Any]) -> tuple[Path, Path]:
    """A training .npz (10 rows, 3 features, classes 0/1) and a test .npz with `test`'s arrays."""
    np.savez(d / "d.npz", x=X, y=Y)
    np.savez(d / "t.npz", **test)
    return d / "d.npz", d / "t.npz"


@pytest.mark.parametrize(
    ("test", "code", "says"),
    [
        ({"x": np.ones((4, 5)), "y": np.zeros(4, int)}, "data-shape-mismatch", "(5,)"),
        ({"x": np.ones((4, 3)), "y": np.array([0, 1, 7, 1])}, "data-label-range", "7"),
        ({"x": np.ones((4, 3))}, "data-file-keys", "'y'"),
    ],
    ids=["other-shape", "other-classes", "no-labels"],
)
def test_a_test_file_unlike_the_training_file(
    tmp_path: Path, test: dict[str, Any], code: str, says: str
) -> None:
    path, test_path = two_files(tmp_path, test)
    overrides = ["data=npz", f"data.path={path}", f"data.test_path={test_path}", "data.validation_split=0.3"]
    report, run_problems = check_and_run(overrides)
    found = problem(report.problems, code, key="data.test_path", override=f"data.test_path={test_path}")
    assert says in found.message, found.message
    assert report.failed()
    problem(run_problems, code, key="data.test_path")


def test_a_csv_test_file_with_a_class_the_training_file_lacks(tmp_path: Path) -> None:
    text("a,b,y\n" + "".join(f"{i},{i},{'cat' if i % 2 else 'dog'}\n" for i in range(10)))(tmp_path)
    (tmp_path / "t.csv").write_text("a,b,y\n1,1,cat\n2,2,eel\n")
    overrides = ["data=csv", f"data.path={tmp_path / 'd.csv'}", f"data.test_path={tmp_path / 't.csv'}"]
    report, run_problems = check_and_run(overrides)
    found = problem(report.problems, "data-label-range", key="data.test_path")
    assert "eel" in found.message
    problem(run_problems, "data-label-range", key="data.test_path")


def test_csv_test_labels_are_numbered_as_the_training_file_numbers_them(tmp_path: Path) -> None:
    """The test file has only `dog`: alone it would be class 0, but the training file's dog is 1."""
    text("a,b,y\n" + "".join(f"{i},{i},{'cat' if i % 2 else 'dog'}\n" for i in range(10)))(tmp_path)
    (tmp_path / "t.csv").write_text("a,b,y\n1,1,dog\n2,2,dog\n")
    overrides = ["data=csv", "data.num_classes=10", f"data.path={tmp_path / 'd.csv'}"]
    report = check_one([*overrides, f"data.test_path={tmp_path / 't.csv'}"])
    assert report.ctx is not None and not report.failed(), show(report.problems)
    ctx = report.ctx
    data = load_dataset(ctx.spec.data, (2,), 10, 0)
    assert data.y_test is not None and data.y_test.tolist() == [1, 1]


def test_check_does_not_read_a_test_file_outside_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path, _ = two_files(project, {"x": X, "y": Y})
    report = check_one(["data=npz", f"data.path={path}", "data.test_path=/etc/shadow"], data_roots=(project,))
    found = problem(report.problems, "data-file-not-read", key="data.test_path")
    assert "shadow" in found.message and found.severity.value == "info"
    assert "root:" not in show(report.problems)


@pytest.mark.parametrize(
    ("overrides", "code", "key"),
    [
        (["data.test_split=1.0"], "value-out-of-range", "data.test_split"),
        (["data.test_split=-0.1"], "value-out-of-range", "data.test_split"),
        (["data.test_split=0.9", "data.limit=10"], "data-too-small", "data.test_split"),
        (["data.test_split=0.01", "data.limit=10"], "data-too-small", "data.test_split"),
        (["data.test_split=0.1", "+data.test_path=t.npz"], "data-option-conflict", "data.test_path"),
        (["+data.test_path=t.npz"], "data-option-conflict", "data.test_path"),  # digits reads no file
        (["final.retrain=true"], "final-no-test-split", "final.retrain"),
    ],
    ids=["one", "negative", "no-training-rows", "no-test-rows", "two-test-splits", "digits-file", "no-test"],
)
def test_bad_test_split_settings(overrides: list[str], code: str, key: str) -> None:
    report = check_one(overrides)
    problem(report.problems, code, key=key)
    assert report.failed()


def test_mnist_has_its_own_test_set_and_no_test_path(tmp_path: Path) -> None:
    path = keras()(tmp_path)
    report = check_one(["data=mnist", f"data.path={path}", f"+data.test_path={path}"])
    problem(report.problems, "data-option-conflict", key="data.test_path", hint="remove data.test_path")
    report = check_one(["data=mnist", f"data.path={path}", "final.retrain=true"])
    assert not report.failed(), show(report.problems)
    ctx = report.ctx
    assert ctx is not None and "mnist's own x_test" in ctx.data.test
    data = load_dataset(ctx.spec.data, (28, 28, 1), 10, 0, final=True)
    assert data.x_test is not None and data.x_test.shape == (2, 28, 28, 1)
    assert data.x_train.shape[0] + (0 if data.x_val is None else data.x_val.shape[0]) == 20


def test_run_with_a_bad_test_file_exits_2(tmp_path: Path) -> None:
    path, test_path = two_files(tmp_path, {"x": np.ones((4, 5)), "y": np.zeros(4, int)})
    proc = run_cli(
        "data=npz",
        f"data.path={path}",
        f"data.test_path={test_path}",
        "final.retrain=true",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    out = clean_exit(proc, 2)
    assert "data-shape-mismatch" in out and "data.test_path" in out


def test_more_folds_than_the_rarest_class_found_by_the_run_exits_2(tmp_path: Path) -> None:
    """Check does not read a limited digits set; the run finds it while preparing the data."""
    proc = run_cli(
        "fit.cross_validation.folds=8",
        "data.limit=100",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"tuner.state_dir={tmp_path / 'state'}",
        timeout=60,
    )
    out = clean_exit(proc, 2)
    assert "[cross-validation-folds] fit.cross_validation.folds" in out and "at most 7" in out
    assert "override `fit.cross_validation.folds=8`" in out
