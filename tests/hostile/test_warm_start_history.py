"""`tuner.warm_start.search` names files: the worst a careless or hostile value can be.

`check` never opens it (a URL is refused by form); the run reads it before anything trains and
refuses, exit 2, what is no earlier search with this objective: missing, a FIFO (never opened),
a directory without trials.csv, too large, not text, another objective, another table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ktrun.pipeline import check_one
from ktrun.runtime import history
from ktrun.runtime.history import read_history
from tests.conftest import REPO
from tests.hostile.expect import clean_exit, problem

OBJECTIVE = [("val_accuracy", "max")]
HEADER = (
    "trial_id,status,failure_class,score,units_1,units_2,activation,dropout,learning_rate,"
    "epochs,seconds,phase,exception_type,message\n"
)


@pytest.fixture(scope="module")
def checked():  # type: ignore[no-untyped-def]
    report = check_one(["+experiment=digits_mlp"])
    assert report.checked is not None
    return report.checked


def refused(checked, name: str, said: str, objectives=OBJECTIVE) -> None:  # type: ignore[no-untyped-def]
    out = read_history(name, checked.space, checked.checker, objectives)
    assert isinstance(out, list), out
    found = problem(out, "warm-start-history", key="tuner.warm_start.search")
    assert said in found.message, found.message


def test_a_missing_search_a_fifo_and_an_empty_directory_are_refused(checked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refused(checked, str(tmp_path / "nowhere"), "does not exist")
    fifo = tmp_path / "trials.fifo"
    os.mkfifo(fifo)
    refused(checked, str(fifo), "a named pipe (FIFO), not a regular file")  # never opened: no hang
    (tmp_path / "empty").mkdir()
    refused(checked, str(tmp_path / "empty"), "trials.csv")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    refused(checked, str(loop), "cannot be read")


def test_a_huge_a_binary_and_a_foreign_table_are_refused(checked, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(history, "MAX_BYTES", 1000)
    big = tmp_path / "big.csv"
    big.write_text(HEADER + "0,completed,,0.5,64,32,relu,0.1,0.001,1,1.0,,,\n" * 50)
    refused(checked, str(big), "more than a trials.csv ktrun reads")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    refused(checked, str(binary), "is not text")
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    refused(checked, str(foreign), "no column trial_id, status, score")


def test_an_earlier_search_of_another_objective_is_refused(checked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "trials.csv").write_text(HEADER)
    (tmp_path / "summary.json").write_text(
        json.dumps({"objective": {"name": "val_loss", "direction": "min"}})
    )
    refused(checked, str(tmp_path), "optimised val_loss (min)")


def test_only_completed_trials_that_fit_this_space_are_told_and_the_rest_counted_by_why(  # type: ignore[no-untyped-def]
    checked, tmp_path: Path
) -> None:
    rows = [
        "0,completed,,0.91,64,32,tanh,0.3,0.001,1,1.0,,,",  # fits (a typed 0.3 is the stepped value)
        "1,completed,,0.80,64,128,relu,0.1,0.001,1,1.0,,,",  # breaks units_2 <= units_1
        "2,completed,,0.70,7,4,relu,0.1,0.001,1,1.0,,,",  # units_1 outside its range
        "3,completed,,0.60,64,,relu,0.1,0.001,1,1.0,,,",  # no units_2
        "4,failed,build_error,,64,32,relu,0.1,0.001,,1.0,build,ValueError,boom",  # not completed
        "5,completed,,nan,64,32,relu,0.1,0.001,1,1.0,,,",  # no finite score
        "6,completed,,0.85,96,96,relu,0.0,0.01,1,1.0,,,",  # fits
    ]
    (tmp_path / "trials.csv").write_text(HEADER + "\n".join(rows) + "\n")
    out = read_history(str(tmp_path / "trials.csv"), checked.space, checked.checker, OBJECTIVE)
    assert not isinstance(out, list), out
    assert [(t.trial_id, t.objectives) for t in out.told] == [("0", (0.91,)), ("6", (0.85,))]
    assert out.told[0].values["dropout"] == pytest.approx(0.3) and out.told[0].values["units_1"] == 64
    assert dict(out.skipped) == {
        "break a constraint or shape rule of this search": 1,
        "have a value of units_1 outside its range": 1,
        "have no value for units_2": 1,
        "have no finite score": 1,
    }
    assert "2 of 6 completed trial(s)" in out.line() and "4 do not fit this space" in out.line()
    extra = tmp_path / "extra.csv"  # an earlier space's hyperparameter this one lacks
    extra.write_text(
        HEADER.replace(",epochs", ",momentum,epochs") + "0,completed,,0.9,64,32,relu,0.1,0.001,0.9,1,1.0,,,\n"
    )
    out = read_history(str(extra), checked.space, checked.checker, OBJECTIVE)
    assert not isinstance(out, list) and dict(out.skipped) == {
        "have a value for momentum, no hyperparameter here": 1
    }
    sized = tmp_path / "sized"  # an earlier search for accuracy against size: `params` is no hyperparameter
    sized.mkdir()
    row = "0,completed,,0.9,9000,64,32,relu,0.1,0.001,1,1.0,,,\n"
    (sized / "trials.csv").write_text(HEADER.replace("score,", "score,params,") + row)
    pareto = {
        "objectives": [{"name": "val_accuracy", "direction": "max"}, {"name": "params", "direction": "min"}]
    }
    summary = {"objective": {"name": "val_accuracy", "direction": "max"}, "pareto": pareto}
    (sized / "summary.json").write_text(json.dumps(summary))
    out = read_history(str(sized), checked.space, checked.checker, OBJECTIVE)
    assert not isinstance(out, list) and len(out.told) == 1 and not out.skipped, out


def test_check_refuses_a_url_and_hyperband_and_never_reads_the_search() -> None:
    override = "tuner.warm_start={search: 'https://example.com/run'}"
    report = check_one(["+experiment=digits_mlp", override])
    found = problem(report.problems, "warm-start-invalid", key="tuner.warm_start.search", override=override)
    assert "local run directory only" in found.message
    report = check_one(["+experiment=digits_mlp", "tuner=hyperband", "tuner.warm_start={search: outputs/x}"])
    assert "no earlier search's trials" in problem(report.problems, "warm-start-invalid").message
    assert not check_one(["+experiment=digits_mlp", "tuner.warm_start={search: /nonexistent/run}"]).errors


@pytest.mark.slow
@pytest.mark.keras
def test_the_run_refuses_a_missing_search_with_exit_2_before_training(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "ktrun.cli", "+experiment=digits_mlp", "tuner.max_trials=1", "fit.epochs=1",
            f"tuner.state_dir={tmp_path / 'state'}", f"hydra.run.dir={tmp_path / 'run'}",
            f"tuner.warm_start={{search: {tmp_path / 'gone'}}}",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = clean_exit(proc, 2)
    assert "[warm-start-history]" in out and "does not exist" in out, out
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").rglob("trial.json"))
