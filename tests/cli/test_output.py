"""Output that reads well in a CI log: nothing wrapped or cut off a terminal, the user's text and
problem codes never read as markup, parallel jobs' lines prefixed, TensorFlow's start-up lines off."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from tests.conftest import run_cli

LONG = "a-very-long-description-token-that-must-not-be-wrapped-or-cut-anywhere-in-a-log-file-at-all"
DESCRIPTION = f"experiment.description='[some-code] {LONG}'"


def _sweep(tmp_path: Path, *extra: str) -> tuple[str, str]:
    """A sweep whose two jobs fail their checks: everything a sweep prints, without training."""
    proc = run_cli(
        "-m",
        *extra,
        "objective.name=val_acuracy,val_accuracyy",
        DESCRIPTION,
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, proc.stderr


def test_a_piped_sweep_is_neither_wrapped_nor_cut_and_keeps_brackets(tmp_path: Path) -> None:
    out, err = _sweep(tmp_path)
    assert "Traceback" not in err
    table = [line for line in out.splitlines() if line.startswith("│ ")]
    assert len(table) == 2, out  # one line per job: no cell wrapped onto a second line
    for line in table:
        assert f"'[some-code] {LONG}'" in line  # the override whole, its brackets literal
    assert "…" not in out
    assert "error [objective-not-logged] objective.name" in out
    assert sorted(p.name for p in (tmp_path / "sweep").rglob("*.log")) == []  # no empty cli.log
    assert (tmp_path / "sweep" / "0" / ".hydra" / "config.yaml").is_file()  # Hydra's record stays


@pytest.mark.slow
def test_parallel_jobs_prefix_every_line(tmp_path: Path) -> None:
    """With the joblib launcher the jobs print at once: each line says which job it is."""
    out, _ = _sweep(tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    for job, value in ((0, "val_acuracy"), (1, "val_accuracyy")):
        mine = [line for line in out.splitlines() if line.startswith(f"[job {job}] ")]
        assert mine[0] == f"[job {job}] objective.name={value} {DESCRIPTION}", out
        problem = f"override `objective.name={value}`: error [objective-not-logged] objective.name"
        assert f"[job {job}] {problem}" in mine
    assert f"'[some-code] {LONG}'" in out.split("sweep summary")[1]


def test_runtime_notes_are_plain_text() -> None:
    """What the search says as it runs (damaged state, changed config, a worker's exit) carries
    paths, values and codes: `[nan]` and `[relu, tanh]` are printed, not taken for markup."""
    from ktrun.pipeline import _say

    buffer = io.StringIO()
    note = "trial 3 failed: [nan] loss; units: [relu, tanh] -> [relu] in /tmp/[x]/state"
    _say(Console(file=buffer, width=200))(note)
    assert buffer.getvalue() == note + "\n"


def test_off_a_terminal_the_console_never_wraps(capsys: pytest.CaptureFixture[str]) -> None:
    from ktrun.render.console import make_console

    console = make_console()
    assert not console.is_terminal
    line = " ".join(["word"] * 60)
    console.print(line)
    assert capsys.readouterr().out == line + "\n"


def test_tensorflows_start_up_notices_are_filtered(capfd: pytest.CaptureFixture[str]) -> None:
    """The lines TensorFlow's C++ writes to descriptor 2 while it starts go; anything else stays."""
    from ktrun.runtime.quiet import filtered_stderr

    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796084064.403088   13792 port.cc:153] oneDNN custom operations are on.\n"
        "E0000 00:00:1796084064.5   13792 cuda_dnn.cc:8310] Unable to register cuDNN factory\n"
        "2024-05-01 10:00:00.123456: I tensorflow/core/util/port.cc:113] oneDNN custom operations\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
        "with the appropriate compiler flags.\n"
    )
    with filtered_stderr():
        os.write(2, noise.encode())
        os.write(2, b"UserWarning: something the user should see\n")
    err = capfd.readouterr().err
    assert err == "UserWarning: something the user should see\n"


def test_verbose_keeps_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from ktrun.runtime.quiet import VERBOSE_ENV, verbose_requested

    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    assert not verbose_requested(0)
    assert verbose_requested(1)  # fit.verbose
    monkeypatch.setenv(VERBOSE_ENV, "1")  # what `ktrun --verbose` sets for every process it starts
    assert verbose_requested(0)


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize("verbose", [False, True])
def test_a_tiny_run_prints_no_tensorflow_noise_unless_asked(tmp_path: Path, verbose: bool) -> None:
    args = ["+data.limit=60", "fit.epochs=1", "tuner.max_trials=1", f"tuner.state_dir={tmp_path / 's'}"]
    proc = run_cli(*args, f"hydra.run.dir={tmp_path / 'run'}", *(["--verbose"] if verbose else []))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    noisy = [line for line in proc.stderr.splitlines() if "oneDNN" in line or "absl::" in line]
    assert bool(noisy) is verbose, proc.stderr
    if not verbose:
        assert "cuda" not in proc.stderr.lower() and "I tensorflow" not in proc.stderr
    assert "trial 0 (1/1): val_accuracy=" in proc.stdout
    assert any("of the space feasible; data digits" in line for line in proc.stdout.splitlines())
    assert list((tmp_path / "run").glob("*.log")) == []  # Hydra's job log: only when something is logged
