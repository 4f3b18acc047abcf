"""`ktrun plan --base`: what a change to an experiment does to its search, for PR review."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CONF, run_cli


def test_base_file_diff_names_each_kind_of_change(tmp_conf: Path, tmp_path: Path) -> None:
    base = (CONF / "experiment" / "mnist_cnn.yaml").read_text()
    head = (
        base.replace(
            "units_1: {type: int, min: 32, max: 256, step: 32}",
            "units_1: {type: int, min: 32, max: 512, step: 32}",
        )
        .replace("kernel_1: {type: choice, values: [3, 5, 7]}", "kernel_1: {type: choice, values: [3, 5]}")
        .replace("  dropout: {type: float, min: 0.0, max: 0.5, step: 0.1}\n", "")
        .replace("    - {type: Dropout, rate: $dropout}\n", "")
        .replace("  - units_2 <= units_1\n", "  - units_2 <= units_1 // 2\n")
        .replace("  name: val_accuracy\n  direction: max", "  name: val_loss\n  direction: min")
        .replace("  max_trials: 10", "  max_trials: 20")
        .replace("  epochs: 3", "  epochs: 5")
        + "  \n"
    )
    head = head.replace(
        "hyperparameters:\n", "hyperparameters:\n  act: {type: choice, values: [relu, gelu]}\n"
    )
    head = head.replace(
        "{type: Dense, units: $units_1, activation: relu}", "{type: Dense, units: $units_1, activation: $act}"
    )
    (tmp_conf / "experiment" / "head.yaml").write_text(head)
    (tmp_path / "base.yaml").write_text(base)
    proc = run_cli(
        "plan", "--config-dir", str(tmp_conf), "+experiment=head", "--base", str(tmp_path / "base.yaml")
    )
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    for expected in (
        "hyperparameter `act` added",
        "hyperparameter `dropout` removed",
        "hyperparameter `units_1` widened: 32..256 → 32..512",
        "hyperparameter `kernel_1` narrowed: values [3, 5, 7] → [3, 5]",
        "constraint `units_2 <= units_1 // 2` added",
        "constraint `units_2 <= units_1` removed",
        "objective `val_accuracy` → `val_loss`",
        "direction max → min",
        "budget: tuner.max_trials 10 → 20",
        "budget: fit.epochs 3 → 5",
        "feasible fraction 56.2% →",
    ):
        assert expected in out, expected


def test_base_git_ref_of_an_unchanged_experiment() -> None:
    proc = run_cli("plan", "+experiment=digits_cnn", "--base", "HEAD")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "#### Changes against `HEAD`" in proc.stdout
    assert "- no change to the search" in proc.stdout


def test_plan_shows_a_dependent_bound_as_written_with_its_widest_range_and_what_it_rejects() -> None:
    from ktrun.pipeline import check_one
    from ktrun.render.plan_markdown import plan_markdown

    report = check_one(
        [
            "+experiment=mnist_cnn",
            "hyperparameters.units_2.max=$units_1",
            "hyperparameters.units_2.min=16",
            "hyperparameters.units_2.step=16",
        ]
    )
    out = plan_markdown(report)
    assert "| `units_2` | int | 16..units_1 step 16 (widest 16..256) | 16 |" in out, out
    assert "- bound `units_2 <= units_1`: rejects" in out
