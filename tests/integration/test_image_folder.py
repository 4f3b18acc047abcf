"""`data.source: image_folder`: one subfolder of images per class, read from disk as it is trained on.

The folder is made by the tests: a few hundred small PNGs (and a JPEG, a grey image, a GIF) whose
class is the colour that dominates them, learnable in one epoch. `check` knows the shape from
`data.image_size` and `data.color_mode` and the classes from the folders without decoding; the run
decodes every file before the first trial, so a broken one is a user error naming it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ktrun.pipeline import check_one, run_experiment
from tests.conftest import CONF

CLASSES = ("blue", "green", "red")  # sorted: label 0 is blue


def image_folder(root: Path, per_class: int = 100, size: tuple[int, int] = (10, 12)) -> Path:
    """`per_class` PNGs per class (its colour brightest, noise elsewhere) and a few other kinds."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True)
        channel = 2 - label  # RGB order: red is channel 0
        for i in range(per_class):
            pixels = rng.integers(0, 90, (*size, 3), dtype=np.uint8)
            pixels[..., channel] = rng.integers(160, 256, size, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    pixels = np.zeros((*size, 3), dtype=np.uint8)
    pixels[..., 0] = 220
    Image.fromarray(pixels).save(root / "red" / "extra.jpg", quality=95)
    Image.fromarray(pixels).save(root / "red" / "extra.gif")
    Image.fromarray(pixels[..., 0]).convert("L").save(root / "red" / "grey.png")
    (root / "red" / "notes.txt").write_text("not an image")
    return root


def experiment(conf: Path, folder: Path, extra: str = "") -> None:
    (conf / "experiment" / "pictures.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: image_folder
  - override /model: none
experiment: {{name: pictures}}
data: {{path: {folder}, image_size: [8, 8]{extra}}}
hyperparameters:
  filters: {{type: choice, values: [4, 8]}}
model:
  layers:
    - {{type: Conv2D, filters: $filters, kernel_size: 3, activation: relu}}
    - {{type: GlobalAveragePooling2D}}
    - {{type: Dense, units: 3, activation: softmax}}
"""
    )


def run(conf: Path, *overrides: str) -> tuple[int, Path]:
    run_dir = conf / "run"
    rc = run_experiment(
        [
            "+experiment=pictures",
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


def test_check_knows_shape_classes_and_skipped_files_without_decoding(tmp_conf: Path) -> None:
    folder = image_folder(tmp_conf / "images", per_class=20)
    experiment(tmp_conf, folder)
    report = check_one(["+experiment=pictures"], extra=[tmp_conf])
    assert not report.errors, [p.message for p in report.errors]
    assert report.checked is not None
    assert report.checked.input_shape == (8, 8, 3) and report.checked.num_classes == 3
    skipped = next(p for p in report.problems if p.code == "image-files-skipped")
    assert (
        skipped.key == "data.path" and "notes.txt" in skipped.message and "1 file skipped" in skipped.message
    )
    grey = check_one(["+experiment=pictures", "data.color_mode=grayscale"], extra=[tmp_conf])
    assert grey.checked is not None and grey.checked.input_shape == (8, 8, 1)


def test_check_names_a_file_that_is_no_image(tmp_conf: Path) -> None:
    folder = image_folder(tmp_conf / "images", per_class=5)
    (folder / "green" / "fake.png").write_text("<html>not found</html>")
    experiment(tmp_conf, folder)
    report = check_one(["+experiment=pictures"], extra=[tmp_conf])
    problem = next(p for p in report.errors if p.code == "image-file-unreadable")
    assert (
        problem.key == "data.path" and "fake.png" in problem.message and "not a BMP, GIF" in problem.message
    )
    assert problem.hint


@pytest.mark.parametrize(
    ("layout", "code", "key", "said"),
    [
        ("flat", "image-folder-layout", "data.path", "has no subfolders"),
        ("empty", "image-folder-layout", "data.path", "but no image in them"),
        ("file", "image-folder-layout", "data.path", "is not a folder"),
        ("missing", "data-file-missing", "data.path", "No such file"),
        ("classes", "image-folder-layout", "data.num_classes", "has 3 class folders"),
        ("regression", "data-option-conflict", "data.task", "one class per image"),
    ],
)
def test_what_is_no_image_folder_is_a_user_error_at_check(
    tmp_conf: Path, layout: str, code: str, key: str, said: str
) -> None:
    root = tmp_conf / "images"
    extra = ""
    if layout == "flat":
        root.mkdir()
        Image.new("RGB", (4, 4)).save(root / "a.png")
    elif layout == "empty":
        (root / "cats").mkdir(parents=True)
        (root / "cats" / "readme.md").write_text("")
    elif layout == "file":
        root.write_text("")
    elif layout == "classes":
        image_folder(root, per_class=2)
        extra = ", num_classes: 4"
    elif layout == "regression":
        image_folder(root, per_class=2)
        extra = ", task: regression"
    experiment(tmp_conf, root, extra)
    report = check_one(["+experiment=pictures"], extra=[tmp_conf])
    problem = next(p for p in report.errors if p.code == code)
    assert problem.key == key and said in problem.message and problem.hint


def test_check_reads_a_test_folder_as_it_reads_data_path(tmp_conf: Path) -> None:
    folder = image_folder(tmp_conf / "images", per_class=4)
    tests = image_folder(tmp_conf / "tests", per_class=2)
    (tests / "red" / "broken.png").write_bytes(b"GIF")
    experiment(tmp_conf, folder, f", test_path: {tests}")
    report = check_one(["+experiment=pictures"], extra=[tmp_conf])
    problem = next(p for p in report.errors if p.code == "image-file-unreadable")
    assert problem.key == "data.test_path" and "broken.png" in problem.message


def test_a_fifo_or_a_link_loop_in_the_folder_neither_hangs_nor_is_opened(tmp_conf: Path) -> None:
    folder = image_folder(tmp_conf / "images", per_class=3)
    os.mkfifo(folder / "blue" / "pipe.png")
    os.symlink(folder, folder / "green" / "loop")  # a linked folder: never followed
    experiment(tmp_conf, folder)
    report = check_one(["+experiment=pictures"], extra=[tmp_conf])
    problem = next(p for p in report.errors if p.code == "image-file-unreadable")
    assert "pipe.png" in problem.message and "not a regular file" in problem.message
    assert not any("green/loop" in p.message for p in report.problems)


@pytest.mark.slow
@pytest.mark.keras
def test_a_search_streams_the_folder_and_the_final_stage_scores_on_held_out_images(
    tmp_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = image_folder(tmp_conf / "images")
    experiment(tmp_conf, folder)
    rc, run_dir = run(tmp_conf, "data.test_split=0.2", "final.retrain=true", "+fit.class_weight=balanced")
    out = capsys.readouterr().out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rc == 0 and summary["trials"]["completed"] == 2, out
    assert "image folder" in out and out.count("1 file skipped, not an image") == 1  # a warning, once
    final = summary["final"]
    assert final["test_rows"] == 61 and final["train_rows"] == 242 and final["epochs"] == 1, (
        final
    )  # 303 images, 0.2 held out, stratified
    assert 0.0 <= final["test"]["accuracy"] <= 1.0 and "loss" in final["test"]
    assert Path(final["model"]).is_file()


@pytest.mark.slow
@pytest.mark.keras
def test_a_truncated_image_is_a_user_error_naming_it_before_any_trial(
    tmp_conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = image_folder(tmp_conf / "images", per_class=10)
    whole = (folder / "blue" / "003.png").read_bytes()
    (folder / "blue" / "003.png").write_bytes(whole[: len(whole) // 2])  # a PNG signature, half a body
    experiment(tmp_conf, folder)
    rc, run_dir = run(tmp_conf)
    out = capsys.readouterr().out
    assert rc == 2, out
    assert "[image-file-unreadable] data.path" in out and "003.png" in out and "cannot be decoded" in out
    assert "Traceback" not in out and not (run_dir / "summary.json").exists()
