"""`data.source: custom`: your own loader, through `custom_objects.loaders` like any code of yours.

`check` never imports it and takes the declared shape on trust; the run calls it once before the
first trial and holds it to that declaration: what it returns, and what it raises, are user
errors (exit 2, the key to fix, a hint), never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ktrun.pipeline import check_one, run_experiment
from tests.conftest import CONF

#: Rows of 8x8 "images" whose class is the brightest quadrant: learnable in one epoch.
MODULE = """
import pathlib

pathlib.Path(__file__).with_name("imported.txt").write_text("imported")

import numpy as np


def load():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    x = rng.random((200, 8, 8, 1)).astype("float32")
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, r * 4 : r * 4 + 4, q * 4 : q * 4 + 4] += 2.0
    return x, y


def wrong_shape():
    x, y = load()
    return x[:, :, :4], y


def one_array():
    return load()[0]


def raises():
    raise OSError("the bucket is not mounted")
"""


def experiment(conf: Path, function: str = "load", shape: str = "[8, 8, 1]", loader: str = "mine") -> None:
    code = conf / "code"
    code.mkdir(exist_ok=True)
    (code / "ktrun_test_loader.py").write_text(MODULE)
    (conf / "experiment" / "loaded.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: custom
  - override /model: none
experiment: {{name: loaded}}
custom_objects:
  paths: [{code}]
  loaders: {{mine: "ktrun_test_loader:{function}"}}
data: {{loader: {loader}, input_shape: {shape}, num_classes: 4}}
hyperparameters:
  units: {{type: choice, values: [8, 16]}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: Dense, units: $units, activation: relu}}
    - {{type: Dense, units: 4, activation: softmax}}
"""
    )


def test_check_takes_the_declared_shape_and_never_imports_the_loader(tmp_conf: Path) -> None:
    experiment(tmp_conf)
    sys.modules.pop("ktrun_test_loader", None)
    report = check_one(["+experiment=loaded"], extra=[tmp_conf])
    assert not report.errors, [p.message for p in report.problems]
    assert report.checked is not None and report.checked.input_shape == (8, 8, 1)
    assert "ktrun_test_loader" not in sys.modules
    assert not (tmp_conf / "code" / "imported.txt").exists()


@pytest.mark.parametrize(
    ("overrides", "code", "key"),
    [
        (["data.loader=null"], "data-loader-required", "data.loader"),
        (["data.input_shape=null"], "data-loader-required", "data.input_shape"),
        (["data.loader=mien"], "custom-loader-undeclared", "data.loader"),
    ],
)
def test_what_check_needs_of_a_custom_loader(
    tmp_conf: Path, overrides: list[str], code: str, key: str
) -> None:
    experiment(tmp_conf)
    report = check_one(["+experiment=loaded", *overrides], extra=[tmp_conf])
    problem = next(p for p in report.errors if p.code == code)
    assert problem.key == key and problem.hint
    assert not (tmp_conf / "code" / "imported.txt").exists()
    unchecked = [p.hint for p in report.problems if p.code == "shapes-unchecked"]
    assert unchecked == (
        ["set data.input_shape, the shape your loader promises"] if key == "data.input_shape" else []
    )
    if overrides == ["data.loader=mien"]:
        assert problem.hint.startswith("did you mean `mine`?")


def run(conf: Path, *overrides: str) -> tuple[int, Path]:
    run_dir = conf / "run"
    rc = run_experiment(
        [
            "+experiment=loaded",
            "fit.epochs=1",
            "tuner.max_trials=2",
            f"tuner.state_dir={conf / 'state'}",
            *overrides,
        ],
        CONF,
        [conf],
        run_dir,
    )
    return rc, run_dir


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.usefixtures("no_plots")
def test_a_search_trains_on_what_the_loader_returns(tmp_conf: Path) -> None:
    experiment(tmp_conf)
    rc, run_dir = run(tmp_conf)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0 and summary["trials"]["completed"] == 2, summary
    assert (tmp_conf / "code" / "imported.txt").exists()


@pytest.mark.parametrize(
    ("function", "code", "key", "said"),
    [
        ("wrong_shape", "data-loader-returned", "data.input_shape", "(8, 4, 1) per sample"),
        ("one_array", "data-loader-returned", "data.loader", "not the pair (x, y)"),
        ("raises", "data-loader-failed", "data.loader", "OSError: the bucket is not mounted"),
        ("missing", "data-loader-failed", "custom_objects.loaders.mine", "AttributeError"),
    ],
)
def test_a_loader_that_breaks_its_word_is_a_user_error_before_any_trial(
    tmp_conf: Path, capsys: pytest.CaptureFixture[str], function: str, code: str, key: str, said: str
) -> None:
    experiment(tmp_conf, function)
    sys.modules.pop("ktrun_test_loader", None)
    rc, run_dir = run(tmp_conf)
    out = capsys.readouterr().out
    assert rc == 2, out
    assert f"[{code}] {key}" in out and said in out and "Traceback" not in out
    assert not (run_dir / "summary.json").exists() and not (tmp_conf / "state").exists()
