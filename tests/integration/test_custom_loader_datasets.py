"""`data.source: custom` returning a `tf.data.Dataset`: one (split by count), batched, or a dict of
splits by name with a test split for `final.retrain`; and what it promises, held to before any trial.

The loader module is written by the test into its own directory, as a user's would be.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ktrun.pipeline import check_one, run_experiment
from tests.conftest import CONF

#: 60 8x8 "images" whose class is the brightest quadrant, as datasets of several forms.
MODULE = """
import numpy as np
import tensorflow as tf


def arrays(n=60):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, n)
    x = rng.random((n, 8, 8, 1)).astype("float32") * 255
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, r * 4 : r * 4 + 4, q * 4 : q * 4 + 4] += 200.0
    return x, y


def slices(x, y):
    return tf.data.Dataset.from_tensor_slices((x, y))


def single():
    return slices(*arrays())


def batched():
    return single().batch(7)


def split():
    x, y = arrays()
    return {"train": slices(x[:36], y[:36]), "validation": slices(x[36:48], y[36:48]).batch(5),
            "test": slices(x[48:], y[48:]).filter(lambda x, y: True)}


def infinite():
    return single().repeat()


def unknown():
    return single().filter(lambda x, y: True)


def wrong_shape():
    x, y = arrays()
    return slices(x[:, :, :4], y)


def not_pair():
    x, y = arrays()
    return tf.data.Dataset.from_tensor_slices({"image": x, "label": y})


def one_hot_for_sparse():
    x, y = arrays()
    return slices(x, tf.one_hot(y, 4))


def no_validation():
    return {"train": single(), "valid": single()}


def out_of_range():
    x, y = arrays()
    return slices(x, y + 1)
"""


def experiment(conf: Path, function: str) -> None:
    code = conf / "code"
    code.mkdir(exist_ok=True)
    (code / "ktrun_test_datasets.py").write_text(MODULE)
    (conf / "experiment" / "streamed.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: custom
  - override /model: none
experiment: {{name: streamed}}
custom_objects:
  paths: [{code}]
  loaders: {{mine: "ktrun_test_datasets:{function}"}}
data: {{loader: mine, input_shape: [8, 8, 1], num_classes: 4}}
hyperparameters:
  units: {{type: choice, values: [8, 16]}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: Dense, units: $units, activation: relu}}
    - {{type: Dense, units: 4, activation: softmax}}
"""
    )


def run(conf: Path, function: str, *overrides: str) -> tuple[int, Path]:
    experiment(conf, function)
    sys.modules.pop("ktrun_test_datasets", None)
    run_dir = conf / "run"
    rc = run_experiment(
        [
            "+experiment=streamed",
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


@pytest.mark.parametrize(("overrides", "warned"), [([], True), (["data.test_split=0.1"], False)])
def test_check_says_final_retrain_needs_a_test_split_the_loader_gives_but_does_not_refuse(
    tmp_conf: Path, overrides: list[str], warned: bool
) -> None:
    experiment(tmp_conf, "split")
    sys.modules.pop("ktrun_test_datasets", None)
    report = check_one(["+experiment=streamed", "final.retrain=true", *overrides], extra=[tmp_conf])
    assert not report.errors, [p.message for p in report.errors]
    said = [p for p in report.problems if p.code == "final-no-test-split"]
    assert bool(said) == warned and all(p.key == "final.retrain" and "'test'" in p.message for p in said)
    assert "ktrun_test_datasets" not in sys.modules


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize(
    ("function", "overrides", "rows"),
    [
        ("single", [], "48 train / 12 validation rows"),
        ("batched", ["+fit.class_weight=balanced", "data.normalize=standardize"], "48 train / 12 validation"),
        ("single", ["data.normalize=none", "data.limit=50"], "40 train / 10 validation rows"),
    ],
)
def test_a_search_trains_on_the_dataset_the_loader_returns(
    tmp_conf: Path, capsys: pytest.CaptureFixture[str], function: str, overrides: list[str], rows: str
) -> None:
    rc, run_dir = run(tmp_conf, function, *overrides)
    out = " ".join(capsys.readouterr().out.split())  # as wrapped for the terminal, unwrapped
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0 and summary["trials"]["completed"] == 2, out
    assert f"your loader `mine`'s tf.data.Dataset: {rows}" in out


@pytest.mark.slow
@pytest.mark.keras
def test_the_dict_form_gives_the_splits_and_its_test_split_scores_the_final_model(
    tmp_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, run_dir = run(tmp_conf, "split", "final.retrain=true", "data.test_split=0.1")
    out = " ".join(capsys.readouterr().out.split())  # as wrapped for the terminal, unwrapped
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0 and summary["trials"]["completed"] == 2, out
    assert "36 train / 12 validation rows" in out
    # data.test_split is not applied to splits given by name: said, not silently ignored
    assert "[data-option-conflict] data.test_split" in out and "returned its splits by name" in out
    final = summary["final"]
    assert set(final["test"]) >= {"accuracy", "loss"} and 0.0 <= final["test"]["accuracy"] <= 1.0
    assert final["test_rows"] == 12 and final["train_rows"] == 48, final
    assert "the 'test' dataset your loader `mine` returned (12 rows)" in out
    assert Path(final["model"]).exists()


@pytest.mark.slow
@pytest.mark.keras
def test_a_single_dataset_holds_its_last_rows_out_for_the_test_split(
    tmp_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, run_dir = run(tmp_conf, "single", "final.retrain=true", "data.test_split=0.2", "tuner.max_trials=1")
    out = " ".join(capsys.readouterr().out.split())  # as wrapped for the terminal, unwrapped
    final = json.loads((run_dir / "summary.json").read_text())["final"]
    assert rc == 0 and final["test_rows"] == 12 and final["train_rows"] == 48, out
    assert "38 train / 10 validation rows" in out


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize(
    ("function", "overrides", "code", "key", "said", "hint"),
    [
        (
            "infinite",
            [],
            "data-loader-returned",
            "data.loader",
            "is infinite (it repeats)",
            "remove .repeat()",
        ),
        (
            "unknown",
            [],
            "data-loader-returned",
            "data.loader",
            "does not know how many elements it has",
            "tf.data.experimental.assert_cardinality(n)",
        ),
        (
            "wrong_shape",
            [],
            "data-loader-returned",
            "data.input_shape",
            "yields x of shape (8, 4, 1) per sample, but data.input_shape says [8, 8, 1]",
            "set data.input_shape to the shape of one sample",
        ),
        ("not_pair", [], "data-loader-returned", "data.loader", "not (x, y) pairs", "ds.map(lambda d:"),
        (
            "one_hot_for_sparse",
            [],
            "data-label-shape",
            "data.loader",
            "yields y of shape (4,) per sample, but data.labels: sparse needs one class id per sample",
            "set data.labels: one_hot",
        ),
        (
            "no_validation",
            [],
            "data-loader-returned",
            "data.loader",
            "has no 'validation'",
            "'train' and 'validation'",
        ),
        (
            "out_of_range",
            ["data.normalize=scale"],
            "data-label-range",
            "data.loader",
            "class id 4 in sample",
            "yield class ids 0..C-1",
        ),
        (
            "single",
            ["+fit.cross_validation.folds=3"],
            "data-loader-returned",
            "fit.cross_validation",
            "makes its folds from rows in memory",
            "return numpy arrays (x, y)",
        ),
        (
            "single",
            ["final.retrain=true"],
            "final-no-test-split",
            "final.retrain",
            "returned no 'test' dataset and data.test_split is 0",
            "'test': ...",
        ),
    ],
)
def test_a_dataset_that_breaks_the_declaration_is_a_user_error_before_any_trial(
    tmp_conf: Path,
    capsys: pytest.CaptureFixture[str],
    function: str,
    overrides: list[str],
    code: str,
    key: str,
    said: str,
    hint: str,
) -> None:
    rc, run_dir = run(tmp_conf, function, *overrides)
    out = " ".join(capsys.readouterr().out.split())  # as wrapped for the terminal, unwrapped
    assert rc == 2, out
    assert f"[{code}] {key}" in out and said in out and hint in out and "Traceback" not in out, out
    assert not (run_dir / "summary.json").exists() and not (tmp_conf / "state").exists()
