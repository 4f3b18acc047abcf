"""Shared helpers: the repo's paths and an in-process `ktrun check`."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ktrun.problems import RECORD_CODES

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from tests.zygote import Zygote

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
# Every process ktrun runs in during the suite (this one, xdist workers, subprocesses, forks)
# appends the codes of the problems it creates here; see `pytest_sessionfinish`.
if RECORD_CODES not in os.environ:
    _codes = Path(tempfile.mkdtemp(prefix="ktrun-codes-")) / "codes.txt"
    _codes.touch()
    _codes.parent.chmod(0o755)  # tests that drop root to `nobody` record their codes too
    _codes.chmod(0o666)
    os.environ[RECORD_CODES] = str(_codes)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first (in their own order): with two workers, a long test started last is
    what the whole run waits for."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a whole run of the suite: every problem code was emitted by some test, and no code
    was emitted that the table does not list. (Partial runs, -k/-m, prove neither.)"""
    from ktrun.problem_codes import CODES

    config = session.config
    if hasattr(config, "workerinput") or exitstatus != 0:
        return
    opts = config.option
    whole = not opts.keyword and not opts.markexpr and not getattr(opts, "lf", False)
    if not whole or any(a not in ("tests", str(REPO / "tests")) for a in config.args):
        return
    record = Path(os.environ[RECORD_CODES])
    emitted = set(record.read_text(encoding="utf-8").split()) if record.is_file() else set()
    never = sorted(set(CODES) - emitted - {"internal-check-error"})  # a ktrun bug: no test can make it
    unknown = sorted(emitted - set(CODES))
    if never or unknown:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"problem codes no test emits: {never}", red=True)
            reporter.write_line(
                f"problem codes emitted but not in ktrun/problem_codes.py: {unknown}", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def zygote() -> Iterator[Zygote]:
    """Real ktrun processes forked from one interpreter that imported TensorFlow (`tests/zygote.py`).

    One per test process, for every module that starts ktrun processes (its start is the 8 s
    import it saves them)."""
    from tests.zygote import Zygote

    z = Zygote()
    yield z
    z.close()


@pytest.fixture
def no_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process searches whose tests assert nothing about the plots skip drawing them (a second
    or so of matplotlib per search). The plots have tests of their own: tests/unit/test_results.py
    (every kind of trial, failed and non-finite ones too) and test_search.py's default search."""
    from ktrun.results import files, plots

    none = dict.fromkeys(plots.PLOTS)  # every plot answered for, as write_plots does
    monkeypatch.setattr(files, "write_plots", lambda outcome, run_dir: (none, []))


def run_cli(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real command line, in a fresh interpreter (what users and CI run)."""
    return subprocess.run(
        [sys.executable, "-m", "ktrun.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {}), "NO_COLOR": "1"},
    )


def schema_validator(schema: Path) -> Validator:
    """One jsonschema validator per schema file and test process: checking the schema itself
    against its metaschema (once, here) is the slow part, a second or more for the big ones."""
    return _validator(schema.resolve())


@functools.cache
def _validator(schema: Path) -> Validator:
    import jsonschema

    document = json.loads(schema.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    validator: Validator = cls(document)
    return validator


@pytest.fixture
def tmp_conf(tmp_path: Path) -> Path:
    """An empty extra config dir with an `experiment/` group, for one-off experiments."""
    (tmp_path / "experiment").mkdir()
    return tmp_path


def cache_imagenet_weights(keras_home: Path, overrides: list[str], extra: list[Path]) -> list[Path]:
    """Every ImageNet weights file the experiment needs, written into `keras_home/models` under
    the name Keras caches it by, from a randomly initialised network of that application (a
    legacy `.h5`, as Keras' own files are). The loading path is the real one; the values are not
    ImageNet's, which no test downloads."""
    from ktrun.checks.backbones import imagenet_needs
    from ktrun.layers.applications import APPLICATIONS
    from ktrun.pipeline import check_one

    report = check_one(overrides, extra=extra)
    assert report.checked is not None, [p.message for p in report.problems]
    checked = report.checked
    written = []
    for need in imagenet_needs(checked.spec, checked.space, checked.checker):
        path = keras_home / "models" / need.file
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            side = max(32, APPLICATIONS[need.application].min_size)
            width = {} if need.alpha is None else {"alpha": need.alpha}
            import keras

            make = getattr(keras.applications, need.application)
            make(include_top=False, weights=None, input_shape=(side, side, 3), **width).save(path)
        written.append(path)
    return written
