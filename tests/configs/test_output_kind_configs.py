"""Bad configs for every output kind: multi-label, sequence labelling, rank-2+ regression,
autoencoders. Each case writes its tiny data (npz) and experiment beside each other and asserts
the problem: code, key path, a located source and a hint that names the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ktrun.pipeline import check_one
from ktrun.render.check_output import render
from tests.conftest import run_cli

RNG = np.random.default_rng(0)
DATA: dict[str, dict[str, Any]] = {
    "multi": {"x": RNG.normal(size=(40, 6)), "y": (RNG.random((40, 4)) > 0.5).astype(np.int64)},
    "tags": {
        "x": RNG.integers(0, 20, size=(40, 7)).astype(np.float32),
        "y": RNG.integers(0, 3, size=(40, 7)),
    },
    "grid": {"x": RNG.normal(size=(40, 6)), "y": RNG.normal(size=(40, 2, 3))},
    "three": {"x": RNG.normal(size=(40, 6)), "y": RNG.normal(size=(40, 3))},
    "images": {"x": RNG.random((40, 8, 8, 1))},
    "scores": {"x": RNG.normal(size=(40, 6)), "y": RNG.random((40, 4))},
}

MLP = "{type: Dense, units: 8, activation: relu}"
MULTI = "data: {path: DATA/multi.npz, labels: multi_hot}\n"
TAGS = "data: {path: DATA/tags.npz, per_step: true, normalize: none}\n"
EMBED = "    - {type: Embedding, input_dim: 20, output_dim: 4}\n"
GRID = "data: {path: DATA/grid.npz, task: regression}\nobjective: {name: val_loss}\n"
AE = "data: {path: DATA/images.npz, task: reconstruction, normalize: scale}\nobjective: {name: val_loss}\n"
ENCODER = (
    "    - {type: Conv2D, filters: 4, kernel_size: 3, padding: same, activation: relu}\n"
    "    - {type: MaxPooling2D, pool_size: 2}\n"
)


def experiment(data: str, layers: str, compile_: str = "", extra: str = "") -> str:
    compiled = f"  compile: {compile_}\n" if compile_ else ""
    return f"{data}model:\n  layers:\n{layers}{compiled}{extra}"


# (name, body, code, key path, a piece of the hint)
CASES: list[tuple[str, str, str, tuple[Any, ...], str]] = [
    (
        "multi_label_softmax",
        experiment(
            MULTI,
            f"    - {MLP}\n    - {{type: Dense, units: 4, activation: softmax}}\n",
            "{loss: binary_crossentropy}",
        ),
        "output-activation-mismatch",
        ("model", "layers", 1, "activation"),
        "activation: sigmoid",
    ),
    (
        "multi_label_categorical_loss",
        experiment(
            MULTI,
            f"    - {MLP}\n    - {{type: Dense, units: 4, activation: sigmoid}}\n",
            "{loss: categorical_crossentropy}",
        ),
        "loss-label-mismatch",
        ("model", "compile", "loss"),
        "binary_crossentropy",
    ),
    (
        "multi_label_units",
        experiment(
            MULTI,
            f"    - {MLP}\n    - {{type: Dense, units: 5, activation: sigmoid}}\n",
            "{loss: binary_crossentropy}",
        ),
        "output-units-mismatch",
        ("model", "layers", 1, "units"),
        "set units: 4",
    ),
    (
        "multi_label_metric",
        experiment(
            MULTI,
            "    - {type: Dense, units: 4, activation: sigmoid}\n",
            "{loss: binary_crossentropy, metrics: [accuracy, categorical_accuracy]}",
        ),
        "metric-label-mismatch",
        ("model", "compile", "metrics", 1),
        "binary_accuracy",
    ),
    (
        "multi_label_class_weight",
        experiment(
            MULTI,
            "    - {type: Dense, units: 4, activation: sigmoid}\n",
            "{loss: binary_crossentropy}",
            "fit: {class_weight: balanced}\n",
        ),
        "class-weight-labels",
        ("fit", "class_weight"),
        "remove fit.class_weight",
    ),
    (
        "multi_label_not_zero_one",
        experiment(
            "data: {path: DATA/scores.npz, labels: multi_hot}\n",
            "    - {type: Dense, units: 4, activation: sigmoid}\n",
            "{loss: binary_crossentropy}",
        ),
        "data-label-type",
        ("data", "y_key"),
        "binarise",
    ),
    (
        "sequence_flat",
        experiment(
            TAGS, EMBED + "    - {type: LSTM, units: 8}\n    - {type: Dense, units: 3, activation: softmax}\n"
        ),
        "output-rank",
        ("model", "layers", 2),
        "set `return_sequences: true` on the LSTM at model.layers.1",
    ),
    (
        "sequence_bidirectional_flat",
        experiment(
            TAGS,
            EMBED
            + "    - {type: Bidirectional, layer: {type: LSTM, units: 8}}\n"
            + "    - {type: Dense, units: 3, activation: softmax}\n",
        ),
        "output-rank",
        ("model", "layers", 2),
        "set `return_sequences: true` on the LSTM at model.layers.1.layer",
    ),
    (
        "sequence_time_distributed_units",
        experiment(
            TAGS,
            EMBED
            + "    - {type: LSTM, units: 8, return_sequences: true}\n"
            + "    - {type: TimeDistributed, layer: {type: Dense, units: 4, activation: softmax}}\n",
        ),
        "output-units-mismatch",
        ("model", "layers", 2, "layer", "units"),
        "set units: 3",
    ),
    (
        "sequence_pooled",
        experiment(
            TAGS,
            EMBED
            + "    - {type: GlobalAveragePooling1D}\n    - {type: Dense, units: 3, activation: softmax}\n",
        ),
        "output-rank",
        ("model", "layers", 2),
        "remove the GlobalAveragePooling1D at model.layers.1",
    ),
    (
        "sequence_steps",
        experiment(
            TAGS,
            EMBED
            + "    - {type: Conv1D, filters: 4, kernel_size: 3}\n"
            + "    - {type: Dense, units: 3, activation: softmax}\n",
        ),
        "output-shape-mismatch",
        ("model", "layers", 2),
        "the Conv1D at model.layers.1 changes it",
    ),
    (
        "sequence_without_per_step",
        experiment(
            "data: {path: DATA/tags.npz, normalize: none}\n",
            EMBED
            + "    - {type: LSTM, units: 8, return_sequences: true}\n"
            + "    - {type: Dense, units: 3, activation: softmax}\n",
        ),
        "output-rank",
        ("model", "layers", 2),
        "`data.per_step: true` for one label per time step",
    ),
    (
        "regression_rank",
        experiment(GRID, "    - {type: Dense, units: 6}\n", "{loss: mse, metrics: [mae]}"),
        "output-rank",
        ("model", "layers", 0),
        "add `{type: Reshape, target_shape: [2, 3]}` at the end",
    ),
    (
        "regression_targets_units",
        experiment(
            "data: {path: DATA/three.npz, task: regression}\nobjective: {name: val_loss}\n",
            f"    - {MLP}\n    - {{type: Dense, units: 1}}\n",
            "{loss: mse, metrics: [mae]}",
        ),
        "output-units-mismatch",
        ("model", "layers", 1, "units"),
        "set units: 3",
    ),
    (
        "regression_per_step",
        experiment(
            "data: {path: DATA/grid.npz, task: regression, per_step: true}\nobjective: {name: val_loss}\n",
            "    - {type: Dense, units: 6}\n    - {type: Reshape, target_shape: [2, 3]}\n",
            "{loss: mse, metrics: [mae]}",
        ),
        "data-option-conflict",
        ("data", "per_step"),
        "remove data.per_step",
    ),
    (
        "autoencoder_size",
        experiment(AE, ENCODER + "    - {type: Conv2D, filters: 1, kernel_size: 3, padding: same}\n", "mse"),
        "output-shape-mismatch",
        ("model", "layers", 2),
        "the decoder's last layer, the Conv2D at model.layers.2, must output (8, 8, 1)",
    ),
    (
        "autoencoder_channels",
        experiment(
            AE,
            ENCODER + "    - {type: UpSampling2D, size: 2}\n"
            "    - {type: Conv2D, filters: 4, kernel_size: 3, padding: same, activation: sigmoid}\n",
            "{loss: binary_crossentropy}",
        ),
        "output-units-mismatch",
        ("model", "layers", 3, "filters"),
        "set filters: 1 on that layer (the decoder's last layer)",
    ),
    (
        "autoencoder_class_loss",
        experiment(AE, "    - {type: Conv2D, filters: 1, kernel_size: 3, padding: same}\n"),
        "loss-label-mismatch",
        ("model", "compile", "loss"),
        "use mse",
    ),
]


@pytest.fixture(scope="module")
def conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One config tree for every case: the data files and one experiment per case."""
    root = tmp_path_factory.mktemp("kinds")
    (root / "experiment").mkdir()
    for name, arrays in DATA.items():
        np.savez(root / f"{name}.npz", **arrays)
    for name, body, *_ in [*CASES, *GOOD]:
        text = body.replace("DATA/", f"{root}/")
        (root / "experiment" / f"{name}.yaml").write_text(
            "# @package _global_\ndefaults:\n  - override /data: npz\n  - override /model: none\n"
            f"experiment: {{name: {name}}}\n{text}",
            encoding="utf-8",
        )
    return root


@pytest.mark.parametrize(("name", "body", "code", "path", "hint"), CASES, ids=[c[0] for c in CASES])
def test_each_output_kind_reports_its_problem(
    conf: Path, name: str, body: str, code: str, path: tuple[Any, ...], hint: str
) -> None:
    report = check_one([f"+experiment={name}"], extra=[conf])
    assert report.failed(), render("text", [report])
    found = [p for p in report.errors if p.code == code and p.path == path]
    assert found, render("text", [report])
    for p in found:
        assert hint in p.hint, p
        assert p.location is not None and p.location.file and p.location.line, p


NEW_CODES = [
    "output-activation-mismatch",
    "class-weight-labels",
    "output-shape-mismatch",
    "data-option-conflict",
]


def test_the_command_line_exits_2_with_the_new_codes(conf: Path) -> None:
    """One real command line over one case per new code (each is its own config in the output)."""
    cases = [next(c for c in CASES if c[2] == code) for code in NEW_CODES]
    files = [str(conf / "experiment" / f"{c[0]}.yaml") for c in cases]
    proc = run_cli("check", *files, "--format", "json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    configs = json.loads(proc.stdout)["configs"]
    assert len(configs) == len(cases)
    for (name, _, code, path, hint), config in zip(cases, configs, strict=True):
        key = ".".join(str(k) for k in path)
        [p] = [p for p in config["problems"] if p["code"] == code and p["path"] == key]
        assert hint in p["hint"] and p["file"].endswith(f"experiment/{name}.yaml") and p["line"] > 0


# ---------------------------------------------------------------- the same kinds, written right

GOOD: list[tuple[str, str, str]] = [
    (
        "multi_label",
        experiment(
            MULTI,
            f"    - {MLP}\n    - {{type: Dense, units: 4, activation: sigmoid}}\n",
            "{loss: binary_crossentropy, metrics: [accuracy, auc]}",
        ),
        "input (6,); labels: multi-hot rows of 4 labels → output (4,)",
    ),
    (
        "sequence",
        experiment(
            TAGS,
            EMBED
            + "    - {type: LSTM, units: 8, return_sequences: true}\n"
            + "    - {type: Dense, units: 3, activation: softmax}\n",
        ),
        "input (7,); labels: one label per time step (7 steps): class ids, 3 classes → output (7, 3)",
    ),
    (
        "sequence_wrapped",
        experiment(
            TAGS,
            EMBED
            + "    - {type: Bidirectional, layer: {type: GRU, units: 8, return_sequences: true}}\n"
            + "    - {type: TimeDistributed, layer: {type: Dense, units: 3, activation: softmax}}\n",
        ),
        "input (7,); labels: one label per time step (7 steps): class ids, 3 classes → output (7, 3)",
    ),
    (
        "regression_grid",
        experiment(
            GRID,
            "    - {type: Dense, units: 6}\n    - {type: Reshape, target_shape: [2, 3]}\n",
            "{loss: mse, metrics: [mae]}",
        ),
        "input (6,); targets: (2, 3) values per sample → output (2, 3)",
    ),
    (
        "autoencoder",
        experiment(
            AE,
            ENCODER + "    - {type: UpSampling2D, size: 2}\n"
            "    - {type: Conv2D, filters: 1, kernel_size: 3, padding: same, activation: sigmoid}\n",
            "{loss: binary_crossentropy, metrics: [mae]}",
        ),
        "input (8, 8, 1); target: the input → output (8, 8, 1)",
    ),
]


@pytest.mark.parametrize(("name", "body", "line"), GOOD, ids=[g[0] for g in GOOD])
def test_each_kind_written_right_is_clean_and_described(conf: Path, name: str, body: str, line: str) -> None:
    report = check_one([f"+experiment={name}"], extra=[conf])
    text = render("text", [report])
    assert not report.errors and not [p for p in report.warnings if p.code != "max-trials-exceeds-space"], (
        text
    )
    assert f"data: {line}" in text
