"""The data source registry: one module per `data.source`, and the entry points that route to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import yaml

from ktrun.data.describe import describe
from ktrun.data.load import DataError, load_dataset
from ktrun.data.raw import DataInfo, Raw
from ktrun.data.sources import NO_SUPPLY, SOURCES, DataSource, Supply, source_for
from ktrun.spec.experiment import DataSourceName, DataSpec
from tests.conftest import CONF, REPO

#: `data.*` keys the shared preparation reads for every source (the rest belong to sources).
SHARED = {
    "source", "validation_split", "test_split", "test_path", "normalize", "labels", "per_step", "num_classes",
    "task", "limit",
}  # fmt: skip


# ---------------------------------------------------------------- the registry agrees with the config


def test_every_source_name_in_the_spec_has_a_source_and_a_config_group() -> None:
    assert list(SOURCES) == list(get_args(DataSourceName))
    for name, source in SOURCES.items():
        assert source.name == name
        group = yaml.safe_load((CONF / "data" / f"{name}.yaml").read_text())
        assert group["source"] == name


def test_source_keys_are_data_keys_and_every_data_key_is_read() -> None:
    own = set(DataSpec.model_fields) - SHARED
    read = {key for source in SOURCES.values() for key in source.keys}
    assert read == own  # no source reads a key the spec lacks; no key is read by no source


def test_check_on_a_built_in_source_never_imports_numpy() -> None:
    code = (
        "import sys\n"
        "from ktrun.data.describe import describe\n"
        "from ktrun.spec.experiment import DataSpec\n"
        "for s in ('digits', 'mnist', 'fashion_mnist', 'cifar10'):\n"
        "    assert describe(DataSpec(source=s)).input_shape, s\n"
        "print(sorted(m for m in ('numpy', 'sklearn') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


# ---------------------------------------------------------------- check's view, per source


@pytest.mark.parametrize(
    ("source", "shape", "rows"),
    [
        ("digits", (8, 8, 1), 1797),
        ("mnist", (28, 28, 1), 60000),
        ("fashion_mnist", (28, 28, 1), 60000),
        ("cifar10", (32, 32, 3), 50000),
    ],
)
def test_built_in_sources_are_described_without_reading(
    source: str, shape: tuple[int, ...], rows: int
) -> None:
    test = "" if source == "digits" else f"{source}'s own x_test, y_test (10000 rows)"
    found = describe(DataSpec(source=source))  # type: ignore[arg-type]
    assert found == DataInfo(shape, 10, target_shape=(), rows=rows, test=test)
    if source == "digits":  # known without reading, for fit.cross_validation's stratified folds
        assert found.class_rows == 174
        assert describe(DataSpec(source="digits", limit=100)).class_rows is None


def test_digits_ignores_a_path_and_a_keras_file_outside_the_project_is_not_read(tmp_path: Path) -> None:
    roots = (tmp_path / "project",)
    outside = str(tmp_path / "elsewhere" / "mnist.npz")
    assert describe(DataSpec(source="digits", path=outside), 0, roots) == DataInfo(
        (8, 8, 1), 10, target_shape=(), rows=1797
    )
    info = describe(DataSpec(source="mnist", path=outside), 0, roots)
    assert (info.input_shape, info.num_classes) == ((28, 28, 1), 10)
    assert [p.code for p in info.problems] == ["data-file-not-read"]
    info = describe(DataSpec(source="npz", path=outside, num_classes=3), 0, roots)
    assert (info.input_shape, info.num_classes) == (None, 3)
    assert [p.code for p in info.problems] == ["data-file-not-read"]


def test_a_local_npz_is_described_by_the_run_s_own_reading(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((20, 4)), y=(np.arange(20) % 3).reshape(-1, 1))
    info = describe(DataSpec(source="npz", path=str(path)))
    assert info == DataInfo(
        (4,), 3, target_shape=(), rows=20
    )  # classes from the labels (max + 1); column labels are flattened


@pytest.mark.parametrize("source", ["npz", "csv"])
def test_a_file_source_needs_a_path_at_check_and_at_run(source: str) -> None:
    data = DataSpec(source=source)  # type: ignore[arg-type]
    (problem,) = describe(data).problems
    assert problem.code == "data-path-required" and problem.path == ("data", "path")
    assert problem.message == f"data.source '{source}' needs data.path"
    with pytest.raises(DataError) as err:
        load_dataset(data, (3,), 2, seed=0)
    assert [p.code for p in err.value.problems] == ["data-path-required"]


def test_an_unknown_source_is_a_data_problem_not_a_crash() -> None:
    data = DataSpec.model_construct(**{**DataSpec().model_dump(), "source": "parquet"})
    (problem,) = describe(data).problems
    assert problem.code == "data-source-unknown" and problem.path == ("data", "source")
    assert problem.hint == (
        "use digits, mnist, fashion_mnist, cifar10, npz, csv, custom, image_folder or shards"
    )
    with pytest.raises(DataError):
        load_dataset(data, (3,), 2, seed=0)


# ---------------------------------------------------------------- adding a source


class Ramp(DataSource):
    """What a new source is: a name, the keys it reads, and its arrays (the rest is shared)."""

    name = "ramp"

    def known(self, data: DataSpec) -> DataInfo:
        return DataInfo((2,), 2)

    def load(self, data: DataSpec, budget: int | None = None, supply: Supply = NO_SUPPLY) -> Raw:
        x = np.arange(40, dtype=np.float64).reshape(20, 2)
        here = ("data", "source")
        return Raw(x, np.arange(20) % 2, "ramp", "a test", here, here)


def test_a_registered_source_gets_check_and_the_shared_preparation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOURCES, "ramp", Ramp())
    data = DataSpec.model_construct(**{**DataSpec().model_dump(), "source": "ramp", "limit": 10})
    assert source_for("ramp").name == "ramp"
    assert describe(data, seed=0) == DataInfo((2,), 2, target_shape=(), rows=20)  # the run's validation
    ds = load_dataset(data, (2,), None, seed=0)
    assert ds.source == "ramp (a test, 20 rows, 10 used)" and ds.num_classes == 2
    assert ds.x_train.shape == (8, 2) and ds.x_train.max() <= 1.0  # limited, split, scaled
