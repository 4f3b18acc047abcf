"""Results of a finished search: the json contract, csv, report, best_hparams.yaml, plots and table."""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from ktrun.render.space_summary import ConstraintRow, HpRow, SpaceSummary
from ktrun.results import plots
from ktrun.results.files import SUMMARY_EXTRA_KEYS, SUMMARY_KEYS, best_hparams_yaml, write_results
from ktrun.results.retrain import retrain_command
from ktrun.results.table import print_results, results_table
from ktrun.results.trials import ranked
from ktrun.runtime.outcome import SearchOutcome, TrialRecord
from ktrun.spec.refs import Scalar
from tests.conftest import REPO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HPS = ["units", "lr", "optimizer", "momentum", "batchnorm", "never_sampled"]


def done(tid: str, score: float, **hps: Scalar) -> TrialRecord:
    return TrialRecord(tid, "completed", dict(hps), score=score, epochs=5, seconds=2.25)


def failed(tid: str, cls: Any, exc: str, message: str, score: float | None = None) -> TrialRecord:
    hps: dict[str, Scalar] = {"units": 512, "lr": 0.1, "optimizer": "adam", "batchnorm": True}
    return TrialRecord(
        tid, "failed", hps, score=score, failure_class=cls, phase="fit", exception_type=exc, message=message
    )


def mixed_outcome() -> SearchOutcome:
    """A completed max-search: scored trials, a conditional hp, failures (one with a score), rejections."""
    sgd: dict[str, Scalar] = {"optimizer": "sgd", "momentum": 0.9}
    return SearchOutcome(
        experiment="digits_mlp",
        objective_name="val_accuracy",
        direction="max",
        status="completed",
        trials=[
            done("00", 0.80, units=32, lr=1e-3, optimizer="adam", batchnorm=True),
            done("01", 0.91, units=64, lr=1e-2, batchnorm=False, **sgd, **{"tuner/epochs": 3}),
            failed(
                "02", "nan", "FloatingPointError", "loss became NaN at epoch 2\nTraceback: more", math.nan
            ),
            failed("03", "oom", "ResourceExhaustedError", "OOM when allocating\n" + "x" * 500, score=0.99),
            done("04", 0.88, units=128, lr=1e-4, optimizer="adam", batchnorm=False),
            done("05", math.inf, units=16, lr=1e-3, optimizer="adam", batchnorm=True),
        ],
        seconds=12.34567,
        rejected={"units_2 <= units_1": 3, "kernel-too-large": 2},
        hyperparameter_names=HPS,
        overrides=["+experiment=digits_mlp", "tuner.max_trials=20"],
        resumed_trials=1,
        state_dir="ktrun_runs/digits_mlp/state",
    )


def aborted_outcome() -> SearchOutcome:
    return SearchOutcome(
        experiment="broken",
        objective_name="val_loss",
        direction="min",
        status="aborted",
        abort_reason="2 of the first 2 trials failed",
        trials=[
            failed("00", "build_error", "ValueError", "Negative dimension size"),
            failed("01", "timeout", "TimeoutError", "trial exceeded 60 s"),
        ],
        seconds=3.0,
        hyperparameter_names=HPS,
    )


def min_outcome() -> SearchOutcome:
    return SearchOutcome(
        experiment="loss_search",
        objective_name="val_loss",
        direction="min",
        status="exhausted",
        trials=[
            done("a", 0.5, units=32),
            done("b", 0.3, units=64),
            done("c", 0.4, units=128),
            failed("d", "other", "RuntimeError", "boom", score=0.01),
        ],
        seconds=1.0,
        hyperparameter_names=["units"],
    )


SPACE = SpaceSummary(
    hyperparameters=[
        HpRow("units", "int", "16..512 ×2 (log)", "6", 0, ""),
        HpRow("momentum", "float", "0..0.99", "continuous", 0, "optimizer == 'sgd'"),
    ],
    constraints=[ConstraintRow("units_2 <= units_1", 0.25)],
    shape_excluded={"kernel-too-large": 0.1},
    feasible_fraction=0.675,
    total_points=1200,
    exact=True,
)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    run_dir = tmp_path_factory.mktemp("mixed") / "run"  # does not exist yet
    return run_dir, write_results(mixed_outcome(), run_dir, SPACE)


def strict_json(text: str) -> Any:
    def no_constant(name: str) -> None:
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=no_constant)


def test_writes_every_file_atomically(mixed: tuple[Path, list[Path]]) -> None:
    run_dir, written = mixed
    names = {p.name for p in written}
    assert names == {
        "summary.json",
        "trials.csv",
        "report.md",
        "best_hparams.yaml",
        "objective.png",
        "hparams.png",
        "parallel_coordinates.png",  # no curves (no learning_curves.png), 3 trials (no importance.png)
    }
    assert all(p.parent == run_dir and p.is_file() for p in written)
    assert not list(run_dir.glob("*.tmp"))


def test_summary_json_contract(mixed: tuple[Path, list[Path]]) -> None:
    data = strict_json((mixed[0] / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= set(data) <= set(SUMMARY_KEYS) | set(SUMMARY_EXTRA_KEYS)
    assert data["experiment"] == "digits_mlp"
    assert data["objective"] == {"name": "val_accuracy", "direction": "max"}
    assert data["status"] == "completed"
    assert data["abort_reason"] is None
    # trial 03 failed with a higher score and 05 completed with inf: neither is best
    assert data["best"] == {
        "trial_id": "01",
        "score": 0.91,
        "hyperparameters": {"units": 64, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9, "batchnorm": False},
    }
    trials = data["trials"]
    assert set(trials) == {
        "completed",
        "pruned",
        "failed",
        "failed_by_reason",
        "rejected_candidates",
        "rejected_by_reason",
    }
    assert (trials["completed"], trials["pruned"], trials["failed"]) == (4, 0, 2)
    assert trials["failed_by_reason"]["nan"] == 1
    assert trials["failed_by_reason"]["oom"] == 1
    assert sum(trials["failed_by_reason"].values()) == 2
    assert trials["rejected_candidates"] == 5
    assert trials["rejected_by_reason"] == {"units_2 <= units_1": 3, "kernel-too-large": 2}
    assert data["seconds"] == 12.346
    assert data["resumed_trials"] == 1


def test_trials_csv(mixed: tuple[Path, list[Path]]) -> None:
    with open(mixed[0] / "trials.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = reader.fieldnames
    assert header == [
        "trial_id", "status", "failure_class", "score", *HPS,
        "epochs", "seconds", "phase", "exception_type", "message",
    ]  # fmt: skip
    assert [r["trial_id"] for r in rows] == ["00", "01", "02", "03", "04", "05"]
    by_id = {r["trial_id"]: r for r in rows}
    assert by_id["00"]["momentum"] == ""  # inactive conditional hyperparameter
    assert by_id["01"]["momentum"] == "0.9"
    assert all(r["never_sampled"] == "" for r in rows)
    assert float(by_id["01"]["score"]) == 0.91
    assert by_id["03"]["score"] == ""  # a failure is never given a score
    assert by_id["03"]["failure_class"] == "oom"
    assert by_id["00"]["batchnorm"] == "true"
    assert by_id["00"]["epochs"] == "5"
    message = by_id["03"]["message"]
    assert "\n" not in message and message.startswith("OOM when allocating x") and len(message) <= 200


def test_report_markdown(mixed: tuple[Path, list[Path]]) -> None:
    report = (mixed[0] / "report.md").read_text()
    assert report.startswith("# digits_mlp: completed")
    assert "Trial **01**" in report and "`val_accuracy` (max) = **0.91**" in report
    # top trials: ranked best first, failed and non-finite trials excluded
    top = report.split("## Top trials")[1].split("##")[0]
    assert top.index("| 1 | 01 |") < top.index("| 2 | 04 |") < top.index("| 3 | 00 |")
    assert "| 03 |" not in top and "| 05 |" not in top and "never_sampled" not in top
    failures = report.split("## Failures")[1].split("##")[0]
    assert "| nan | 1 | trial 02: FloatingPointError during fit: loss became NaN at epoch 2 |" in failures
    assert "| oom | 1 | trial 03: ResourceExhaustedError" in failures
    assert "Traceback" not in failures  # only the first line of a message
    rejected = report.split("## Rejected candidates")[1].split("##")[0]
    assert "`units_2 <= units_1`" in rejected and "`kernel-too-large`" in rejected
    assert "never trained" in rejected and "max_trials" in rejected
    space = report.split("## Search space")[1].split("##")[0]
    assert "optimizer == 'sgd'" in space and "25.0%" in space and "67.5%" in space
    assert "(objective.png)" in report and "(hparams.png)" in report
    command = retrain_command(mixed_outcome())
    assert command is not None and f"```sh\n{command}\n```" in report


def test_best_hparams_yaml_round_trips(mixed: tuple[Path, list[Path]]) -> None:
    text = (mixed[0] / "best_hparams.yaml").read_text()
    head = text.splitlines()[:2]
    assert head[0] == "# Best trial 01 of digits_mlp: val_accuracy = 0.91 (max)"
    assert head[1].startswith("# Retrain it: ktrun +experiment=digits_mlp +pin.units=64 ")
    assert head[1].endswith(" tuner.max_trials=1") and "max_trials=20" not in head[1]
    assert "tuner/" not in text
    best = {"units": 64, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9, "batchnorm": False}
    loaded = yaml.safe_load(text)
    assert loaded == {"pin": best}
    assert [type(v) for v in loaded["pin"].values()] == [type(v) for v in best.values()]


def test_plots_are_pngs(mixed: tuple[Path, list[Path]]) -> None:
    for name in ("objective.png", "hparams.png", "parallel_coordinates.png"):
        data = (mixed[0] / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_retrain_command_values_parse_back_in_hydra() -> None:
    parser_mod = pytest.importorskip("hydra.core.override_parser.overrides_parser")
    odd: dict[str, Scalar] = {
        "i": -3, "f": 1e-05, "big": 1e16, "whole": 2.0, "yes": True, "no": False, "plain": "relu",
        "path": "a/b-c.d", "looks_bool": "true", "looks_int": "1", "looks_null": "null", "empty": "",
        "spaced": " a b ", "quoted": 'say "hi"', "apostrophe": "it's", "backslash": "C:\\dir\\",
        "escaped_quote": 'a\\"b', "comma": "x,y", "inf_word": "-inf", "upper": "TRUE",
    }  # fmt: skip
    outcome = SearchOutcome(
        "odd", "score", "max", "completed", [done("7", 1.0, **odd)], 1.0, hyperparameter_names=list(odd)
    )
    command = retrain_command(outcome)
    assert command is not None
    parser = parser_mod.OverridesParser.create()
    parsed = {}
    for arg in shlex.split(command)[1:-1]:
        override = parser.parse_override(arg)
        parsed[override.key_or_group.removeprefix("pin.")] = override.value()
    assert parsed == odd
    assert [type(v) for v in parsed.values()] == [type(v) for v in odd.values()]
    # and the pins in best_hparams.yaml are the same values
    assert yaml.safe_load(best_hparams_yaml(outcome, outcome.trials[0])) == {"pin": odd}


def test_retrain_command_replaces_earlier_pins_and_max_trials() -> None:
    outcome = min_outcome()
    outcome.overrides = ["+experiment=x", "+pin.units=8", "++tuner.max_trials=50", "fit.epochs=3"]
    assert retrain_command(outcome) == "ktrun +experiment=x fit.epochs=3 +pin.units=64 tuner.max_trials=1"


def test_a_broken_plot_does_not_cost_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(outcome: SearchOutcome, names: list[str]) -> None:
        raise ValueError("no room for panels")

    monkeypatch.setattr(plots, "_hparams_figure", broken)
    written = {p.name for p in write_results(min_outcome(), tmp_path)}
    assert "hparams.png" not in written and {"objective.png", "report.md", "best_hparams.yaml"} <= written
    report = (tmp_path / "report.md").read_text()
    assert "hparams.png could not be drawn: ValueError: no room for panels" in report
    assert not list(tmp_path.glob("*.tmp"))


def test_aborted_search_without_completed_trials(tmp_path: Path) -> None:
    written = write_results(aborted_outcome(), tmp_path)
    assert {p.name for p in written} == {"summary.json", "trials.csv", "report.md"}
    data = strict_json((tmp_path / "summary.json").read_text())
    assert data["status"] == "aborted" and data["abort_reason"] == "2 of the first 2 trials failed"
    assert data["best"] is None
    assert data["trials"]["completed"] == 0 and data["trials"]["rejected_candidates"] == 0
    assert data["trials"]["failed_by_reason"] == {
        "build_error": 1, "nan": 0, "oom": 0, "timeout": 1, "crash": 0, "other": 0,
    }  # fmt: skip
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# broken: aborted: 2 of the first 2 trials failed")
    assert "there is no best trial" in report and "No candidates were rejected" in report
    assert "trial 00: ValueError during fit: Negative dimension size" in report
    assert "trial 01: TimeoutError" in report
    assert not (tmp_path / "best_hparams.yaml").exists()
    assert not list(tmp_path.glob("*.png"))


def test_rewriting_a_run_dir_removes_stale_optional_files(tmp_path: Path) -> None:
    outcome = min_outcome()
    write_results(outcome, tmp_path)
    assert (tmp_path / "best_hparams.yaml").exists() and (tmp_path / "objective.png").exists()
    write_results(aborted_outcome(), tmp_path)
    assert not (tmp_path / "best_hparams.yaml").exists() and not list(tmp_path.glob("*.png"))


def test_min_direction() -> None:
    outcome = min_outcome()
    best = outcome.best()
    assert best is not None and best.trial_id == "b"  # "d" failed with a lower score: never best
    assert [t.trial_id for t in ranked(outcome)] == ["b", "c", "a"]


def test_no_failures_no_rejections_wording(tmp_path: Path) -> None:
    outcome = min_outcome()
    outcome.trials = outcome.trials[:3]
    outcome.hyperparameter_names = []  # nothing to plot per hyperparameter
    written = {p.name for p in write_results(outcome, tmp_path)}
    assert "hparams.png" not in written and "objective.png" in written
    report = (tmp_path / "report.md").read_text()
    assert "No failed trials." in report and "No candidates were rejected" in report
    assert "`val_loss` (min) = **0.3**" in report
    assert yaml.safe_load((tmp_path / "best_hparams.yaml").read_text()) == {"pin": {"units": 64}}


def test_results_table_and_print(tmp_path: Path) -> None:
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(results_table(mixed_outcome()))
    text = console.export_text()
    assert "val_accuracy (max)" in text
    assert text.index(" 01 ") < text.index(" 04 ") < text.index(" 00 ")
    assert "optimizer=sgd" in text and "momentum=0.9" in text
    assert "2 failed (nan 1, oom 1)" in text and "5 candidate(s) rejected" in text

    console = Console(record=True, width=120, file=io.StringIO())
    print_results(aborted_outcome(), console, run_dir=tmp_path)
    text = console.export_text()
    assert "no completed trial with a score" in text
    assert "Search aborted (2 of the first 2 trials failed)" in text
    assert str(tmp_path / "report.md") in text


def test_importing_results_stays_cheap() -> None:
    code = (
        "import sys, ktrun.results.files\n"
        "print(sorted(m for m in ('matplotlib', 'rich', 'tensorflow', 'keras') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"
