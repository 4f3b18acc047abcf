"""Hydra multirun: every combination is its own search; a sweep summary is written at the end."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.keras]

QUICK = ["+data.limit=200", "fit.epochs=1", "tuner.max_trials=1"]


def sweep_run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`ktrun -m ...` in a fresh process, as people run it; returns the sweep directory too."""
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "-m",
        *QUICK,
        f"tuner.state_dir={tmp_path / 'state'}",
        *args,
        f"hydra.sweep.dir={sweep}",
        env={"TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=600,
    )
    return proc, sweep


def test_two_by_two_sweep_with_a_failing_job(tmp_path: Path) -> None:
    proc, sweep = sweep_run(tmp_path, "experiment.seed=0,1", "objective.name=val_accuracy,val_acuracy")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]  # one job failed
    assert "Traceback" not in proc.stdout + proc.stderr
    rows = list(csv.DictReader((sweep / "sweep_summary.csv").read_text().splitlines()))
    assert len(rows) == 4
    statuses = sorted(r["status"] for r in rows)
    assert statuses == ["completed", "completed", "config error", "config error"]
    for r in rows:
        job = sweep / r["job"]
        assert json.loads((job / "ktrun_job.json").read_text())["status"] == r["status"]
        assert (job / "summary.json").is_file() == (r["status"] == "completed")
    assert (sweep / "sweep_summary.md").read_text().count("| config error |") == 2
    assert (sweep / "sweep_summary.png").read_bytes()[:4] == b"\x89PNG"


def test_joblib_launcher_runs_two_jobs_in_parallel_processes(tmp_path: Path) -> None:
    proc, sweep = sweep_run(
        tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "experiment.seed=0,1"
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Joblib.Parallel(n_jobs=2" in proc.stdout + proc.stderr
    rows = list(csv.DictReader((sweep / "sweep_summary.csv").read_text().splitlines()))
    assert [r["status"] for r in rows] == ["completed", "completed"]
