"""csv tables with categorical and text columns feeding named inputs: layout, encoding, checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ktrun.checks import CheckReport
from ktrun.data.load import DataError, Dataset, load_dataset
from ktrun.data.named import arrays_of
from ktrun.pipeline import check_one
from tests.hostile.expect import problem, show

HEADER = "age,income,color,review,label"
MODEL = """
model:
  inputs: {numbers: {}, color: {}, review: {}}
  layers:
    - {type: Embedding, inputs: [color], input_dim: 8, output_dim: 2}
    - {type: Flatten, name: color_vec}
    - {type: TextVectorization, inputs: [review], max_tokens: 20, output_sequence_length: 4}
    - {type: Embedding, input_dim: 20, output_dim: 3}
    - {type: GlobalAveragePooling1D, name: review_vec}
    - {type: Concatenate, inputs: [numbers, color_vec, review_vec]}
    - {type: Dense, units: 2, activation: softmax}
"""


def rows(n: int = 20) -> list[str]:
    colors = ["red", "green", "blue"]
    return [f"{20 + i},{i * 1.5},{colors[i % 3]},word{i % 4} other,{i % 2}" for i in range(n)]


KINDS = "{color: categorical, review: text}"


def experiment(tmp_path: Path, lines: list[str], kinds: str = KINDS, model: str = MODEL) -> list[Path]:
    (tmp_path / "d.csv").write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True, exist_ok=True)
    (conf / "experiment" / "mixed.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: csv\n  - override /model: none\n"
        "experiment: {name: mixed}\ntuner: {max_trials: 1}\n"
        f"data: {{path: {tmp_path / 'd.csv'}, label_column: label, normalize: standardize, "
        f"columns: {kinds}}}\n" + model,
        encoding="utf-8",
    )
    return [conf]


def check(tmp_path: Path, lines: list[str], kinds: str = KINDS, model: str = MODEL) -> CheckReport:
    return check_one(["+experiment=mixed"], extra=experiment(tmp_path, lines, kinds, model))


def load(report: CheckReport) -> Dataset:
    ctx = report.ctx
    assert ctx is not None
    return load_dataset(
        ctx.spec.data, ctx.input_shape or (2,), 2, ctx.spec.experiment.seed, arrays=arrays_of(ctx.spec.model)
    )


def test_each_column_feeds_its_input_and_check_describes_their_kinds(tmp_path: Path) -> None:
    report = check(tmp_path, rows())
    assert not report.problems, show(report.problems)
    ctx = report.ctx
    assert ctx is not None
    assert ctx.input_shapes == {"numbers": (2,), "color": (1,), "review": (1,)}
    assert ctx.data.columns == (
        "columns: numbers ← age, income (numeric); color ← color (categorical, 3 values: ids 1-3, "
        "0 unseen); review ← review (text)"
    )
    data = load(report)
    assert data.named is not None
    numbers, color, review = (data.named[0][k] for k in ("numbers", "color", "review"))
    assert numbers[0].shape == (16, 2) and numbers[0].dtype == np.float32
    assert abs(float(numbers[0].mean())) < 1e-5  # standardised with its own training statistics
    assert color[0].shape == (16, 1) and color[0].dtype == np.int64 and set(color[0].ravel()) == {1, 2, 3}
    assert review[0].shape == (16, 1) and review[0].dtype.kind == "U" and review[0][0, 0].endswith(" other")
    assert review[1] is not None and review[1].shape == (4, 1)


def test_the_vocabulary_is_learnt_on_the_training_rows_only(tmp_path: Path) -> None:
    """A category only the validation rows hold is out of vocabulary (id 0), never an error."""
    base = rows(20)
    report = check(tmp_path, base)
    data = load(report)
    assert data.named is not None
    # Find the validation rows of this seed and give one of them a colour no training row has.
    ages_val = data.named[0]["numbers"][1]
    assert ages_val is not None
    order = np.random.default_rng(report.ctx.spec.experiment.seed if report.ctx else 0).permutation(20)
    val_row = int(order[-1])
    lines = list(base)
    fields = lines[val_row].split(",")
    fields[2] = "purple"
    lines[val_row] = ",".join(fields)
    report = check(tmp_path, lines)
    assert not report.problems, show(report.problems)
    data = load(report)
    assert data.named is not None
    train, val = data.named[0]["color"]
    assert val is not None
    assert 0 not in set(train.ravel()) and val[-1, 0] == 0  # purple: unseen in training
    assert set(train.ravel()) == {1, 2, 3}


def test_a_declared_column_the_file_lacks_is_named_with_a_did_you_mean(tmp_path: Path) -> None:
    report = check(tmp_path, rows(), "{colour: categorical, review: text}")
    found = problem(report.problems, "data-column-unknown", key="data.columns.colour")
    assert "did you mean 'color'?" in found.hint
    assert report.failed()


def test_a_text_column_among_numeric_ones_and_a_misspelt_column(tmp_path: Path) -> None:
    inputs = "inputs: {numbers: {columns: [age, review]}, money: {columns: [incme]}, color: {}, review: {}}"
    model = MODEL.replace("inputs: {numbers: {}, color: {}, review: {}}", inputs)
    report = check(tmp_path, rows(), model=model)
    found = problem(report.problems, "data-column-kind", key="model.inputs.numbers.columns")
    assert "'review' is text" in found.message
    found = problem(report.problems, "data-column-unknown", key="model.inputs.money.columns.0")
    assert "did you mean 'income'?" in found.hint


def test_one_input_takes_the_numeric_columns_left_over(tmp_path: Path) -> None:
    """Two inputs that name no column cannot both take them; the second one's name is checked."""
    inputs = "inputs: {numbers: {}, colr: {}, color: {}, review: {}}"
    report = check(
        tmp_path, rows(), model=MODEL.replace("inputs: {numbers: {}, color: {}, review: {}}", inputs)
    )
    found = problem(report.problems, "data-column-unknown", key="model.inputs.colr")
    assert "`numbers` already takes" in found.message and "did you mean 'color'?" in found.hint


def test_a_categorical_column_with_one_value_and_unread_columns_are_warned(tmp_path: Path) -> None:
    lines = [r.replace("green", "red").replace("blue", "red") for r in rows()]
    model = MODEL.replace(
        "{numbers: {}, color: {}, review: {}}", "{numbers: {columns: [age]}, color: {}, review: {}}"
    )
    report = check(tmp_path, lines, model=model)
    problem(report.problems, "data-column-constant", key="data.columns.color")
    found = problem(report.problems, "data-column-unused", key="model.inputs")
    assert "'income'" in found.message
    assert not report.failed()
    assert {w.code for w in load(report).warnings} >= {"data-column-constant", "data-column-unused"}


def test_categorical_columns_need_named_inputs_and_a_csv(tmp_path: Path) -> None:
    model = "model:\n  layers:\n    - {type: Dense, units: 2, activation: softmax}\n"
    report = check(tmp_path, rows(), model=model)
    problem(report.problems, "data-column-kind", key="data.columns.color")
    report = check_one(["data=digits", "+data.columns={a: text}"])
    problem(report.problems, "data-option-conflict", key="data.columns")


def test_the_label_is_no_feature_column(tmp_path: Path) -> None:
    report = check(tmp_path, rows(), "{label: categorical, color: categorical, review: text}")
    found = problem(report.problems, "data-column-unknown", key="data.columns.label")
    assert "label column" in found.message


def test_embeddings_are_checked_against_the_ids_they_get(tmp_path: Path) -> None:
    model = MODEL.replace("input_dim: 8", "input_dim: 3").replace("input_dim: 20", "input_dim: 10")
    report = check(tmp_path, rows(), model=model)
    first, second = (p for p in report.problems if p.code == "embedding-vocabulary")
    assert first.key == "model.layers.0.input_dim"
    assert "ids 0-3" in first.message and "4 or more" in first.hint
    assert second.key == "model.layers.3.input_dim" and "max_tokens 20" in second.message


def test_counting_tokens_needs_a_fixed_width(tmp_path: Path) -> None:
    model = MODEL.replace(
        "max_tokens: 20, output_sequence_length: 4}", "max_tokens: 20, output_mode: multi_hot}"
    ).replace(
        "    - {type: Embedding, input_dim: 20, output_dim: 3}\n"
        "    - {type: GlobalAveragePooling1D, name: review_vec}\n",
        "    - {type: Flatten, name: review_vec}\n",
    )
    report = check(tmp_path, rows(), model=model)
    found = problem(report.problems, "text-vectorization-width", key="model.layers.2.pad_to_max_tokens")
    assert "pad_to_max_tokens: true" in found.hint
    report = check(tmp_path, rows(), model=model.replace("multi_hot}", "multi_hot, pad_to_max_tokens: true}"))
    assert not report.failed(), show(report.problems)


def test_named_inputs_of_a_csv_with_bad_numbers_are_reported_by_row(tmp_path: Path) -> None:
    lines = rows()
    lines[3] = "x3,4.5,red,some words,1"
    report = check(tmp_path, lines)
    problem(report.problems, "data-not-numeric", key="data.path")
    with pytest.raises(DataError) as e:
        load(report)
    problem(e.value.problems, "data-not-numeric", key="data.path")


def test_a_one_hot_encoding_is_checked_against_the_ids_it_gets(tmp_path: Path) -> None:
    """StringLookup + CategoryEncoding, written as a categorical column + CategoryEncoding."""
    hot = "    - {type: CategoryEncoding, inputs: [color], num_tokens: NUM, output_mode: one_hot}\n"
    model = MODEL.replace("    - {type: Embedding, inputs: [color], input_dim: 8, output_dim: 2}\n", hot)
    report = check(tmp_path, rows(), model=model.replace("NUM", "3"))
    found = problem(report.problems, "embedding-vocabulary", key="model.layers.0.num_tokens")
    assert "num_tokens 3" in found.message and "4 or more" in found.hint
    report = check(tmp_path, rows(), model=model.replace("NUM", "4"))
    assert not report.failed(), show(report.problems)
