"""`ktrun check` as people and CI call it: exit codes, formats, locations, no tracebacks."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ktrun.pipeline import check_one
from tests.conftest import run_cli

BAD_KERNEL = """\
# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {name: bad_kernel}
hyperparameters:
  kernel_1: {type: choice, values: [3, 5, 7]}
  units: {type: int, min: 16, max: 64, step: 16}
model:
  layers:
    - {type: Conv2D, filters: 8, kernel_size: $kernel_1, activation: relu}
    - {type: MaxPooling2D, pool_size: 2}
    - {type: Conv2D, filters: 16, kernel_size: 3}
    - {type: Flatten}
    - {type: Dense, units: $units, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
"""


def write(conf: Path, name: str, text: str) -> Path:
    path = conf / "experiment" / f"{name}.yaml"
    path.write_text(text)
    return path


def test_clean_config_exits_0() -> None:
    proc = run_cli("check", "+experiment=mnist_cnn")
    assert proc.returncode == 0, proc.stdout
    assert "0 error(s), 0 warning(s)" in proc.stdout
    assert "units_2 <= units_1" in proc.stdout and "rejects 43.8%" in proc.stdout


def test_shape_exclusion_is_a_warning_and_strict_makes_it_an_error(tmp_conf: Path) -> None:
    """8x8 digits: kernel 5 and 7 leave nothing for the second 3x3 conv; kernel 3 fits."""
    write(tmp_conf, "bad_kernel", BAD_KERNEL)
    report = check_one(["+experiment=bad_kernel"], extra=[tmp_conf])
    [problem] = [p for p in report.problems if p.code == "kernel-too-large"]
    assert problem.severity == "warning"
    assert "67% of the space is excluded" in problem.message
    assert "kernel_1=5" in problem.message and "MaxPooling2D (2, 2, 8)" in problem.message
    assert problem.location is not None and problem.location.line == 13
    assert report.checked is not None  # excluded points are skipped, the search can run
    proc = run_cli("check", "--config-dir", str(tmp_conf), "+experiment=bad_kernel")
    assert proc.returncode == 0
    strict = run_cli("check", "--strict", "--config-dir", str(tmp_conf), "+experiment=bad_kernel")
    assert strict.returncode == 2
    assert "error [kernel-too-large]" in strict.stdout


def test_shape_warning_counts_only_points_the_constraints_allow(tmp_conf: Path) -> None:
    """The constraint already rejects kernel 5: the counterexample is kernel 7 (never a point
    the constraints reject), and the count is of the 8 points they allow, not the 12 declared."""
    text = BAD_KERNEL.replace("model:\n", "constraints: ['kernel_1 != 5']\nmodel:\n", 1)
    write(tmp_conf, "constrained_kernel", text)
    report = check_one(["+experiment=constrained_kernel"], extra=[tmp_conf])
    [problem] = [p for p in report.problems if p.code == "kernel-too-large"]
    assert problem.severity == "warning"
    assert "kernel_1=7" in problem.message and "kernel_1=5" not in problem.message
    assert "4 of the 8 points the constraints allow (50%) are excluded" in problem.message


def test_every_point_infeasible_is_an_error(tmp_conf: Path) -> None:
    write(tmp_conf, "all_bad", BAD_KERNEL.replace("[3, 5, 7]", "[5, 7]"))
    report = check_one(["+experiment=all_bad"], extra=[tmp_conf])
    assert [p.code for p in report.errors] == ["kernel-too-large"]
    assert report.errors[0].message.startswith("every point fails")
    assert report.checked is None


def test_json_format_has_every_field(tmp_conf: Path) -> None:
    write(tmp_conf, "typo", BAD_KERNEL + "objective: {name: val_acuracy}\n")
    proc = run_cli("check", "--format", "json", "--config-dir", str(tmp_conf), "+experiment=typo")
    assert proc.returncode == 2
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    [problem] = [p for p in data["configs"][0]["problems"] if p["code"] == "objective-not-logged"]
    assert problem["path"] == "objective.name"
    assert problem["file"].endswith("experiment/typo.yaml") and problem["line"] == 17
    assert "did you mean `val_accuracy`" in problem["hint"]


def test_github_format_annotates_file_and_line(tmp_conf: Path) -> None:
    path = write(tmp_conf, "typo", BAD_KERNEL + "objective: {name: val_acuracy}\n")
    proc = run_cli("check", "--format", "github", str(path))
    assert proc.returncode == 2
    lines = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert any("line=17" in line and "objective-not-logged" in line for line in lines), lines


def test_markdown_format_lists_problems_and_space() -> None:
    proc = run_cli("check", "--format", "markdown", "+experiment=digits_cnn")
    assert proc.returncode == 0
    assert "| `filters` | int | 8..32 step 8 | 4 × 3 |" in proc.stdout


def test_override_errors_name_the_override() -> None:
    proc = run_cli("check", "+experiment=mnist_cnn", "fit.epochs=0", "tuner.algorithm=annealing")
    assert proc.returncode == 2
    assert "override `fit.epochs=0`" in proc.stdout
    assert "override `tuner.algorithm=annealing`" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_unknown_experiment_lists_the_available_ones() -> None:
    proc = run_cli("check", "+experiment=mnist_cn")
    assert proc.returncode == 2
    assert "mnist_cnn" in proc.stdout and "Traceback" not in proc.stderr


def test_all_checks_every_experiment_quickly() -> None:
    start = time.perf_counter()
    proc = run_cli("check", "--all", "--format", "json")
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-3000:]
    labels = [c["label"] for c in json.loads(proc.stdout)["configs"]]
    assert "(defaults)" in labels and "+experiment=mnist_cnn" in labels
    assert elapsed < 30  # a sanity bound only; the latency claim lives in `make bench`


def test_a_run_with_a_config_error_exits_2_before_training(tmp_path: Path) -> None:
    proc = run_cli("+experiment=mnist_cnn", "objective.name=val_acuracy", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 2
    assert "error [objective-not-logged]" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "summary.json").exists()


def test_a_run_with_a_data_error_exits_2_before_training(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mnist.npz"
    proc = run_cli("+experiment=mnist_cnn", f"data.path={missing}", f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 2
    assert "data-file-missing" in proc.stdout and str(missing) in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_plan_renders_every_shipped_experiment() -> None:
    from ktrun.config.compose import experiment_names
    from tests.conftest import CONF

    for name in [None, *experiment_names(CONF)]:
        overrides = [] if name is None else [f"+experiment={name}"]
        report = check_one(overrides)
        from ktrun.render.plan_markdown import plan_markdown

        text = plan_markdown(report)
        assert "| hyperparameter | type | values | cardinality | condition |" in text, name
        assert "- feasible: **" in text and "epochs trained" in text, name


def test_plan_exits_2_on_a_broken_config() -> None:
    proc = run_cli("plan", "+experiment=mnist_cnn", "objective.name=val_acuracy")
    assert proc.returncode == 2
    assert "objective-not-logged" in proc.stdout and "Traceback" not in proc.stderr


def test_several_experiment_files_are_checked_one_by_one(tmp_conf: Path) -> None:
    """What the pre-commit hook does: `ktrun check FILE FILE ...`."""
    bad = write(tmp_conf, "bad_kernel", BAD_KERNEL.replace("[3, 5, 7]", "[5, 7]"))
    proc = run_cli("check", "conf/experiment/mnist_cnn.yaml", str(bad), "fit.epochs=2")
    assert proc.returncode == 2
    assert "── +experiment=mnist_cnn fit.epochs=2  ok" in proc.stdout
    assert "── +experiment=bad_kernel fit.epochs=2  FAIL" in proc.stdout


def test_a_pinned_value_is_the_decimal_people_type() -> None:
    """Issue 15: `+pin.dropout=0.3` was refused (the grid listed 0.30000000000000004). The grid is
    the typed decimals, a value within float rounding of one is that value, and the hint lists
    the decimals."""
    for typed in ("0.3", "0.30000000000000004"):
        report = check_one(["+experiment=mnist_cnn", f"+pin.dropout={typed}"])
        assert not report.errors, report.errors
        assert report.checked is not None
        assert report.checked.space.params["dropout"].decl.value == 0.3  # type: ignore[union-attr]
    proc = run_cli("check", "+experiment=mnist_cnn", "+pin.dropout=0.35")
    assert proc.returncode == 2
    assert "pin-value-invalid" in proc.stdout
    assert "pick one of [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]" in proc.stdout, proc.stdout
