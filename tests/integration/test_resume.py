"""Crash safety: a SIGKILL mid-search loses at most the trial in flight; re-running resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.keras]


def _scores(state: Path) -> dict[str, float]:
    out = {}
    for path in state.glob("*/trial_*/trial.json"):
        trial = json.loads(path.read_text())
        if trial["status"] == "COMPLETED":
            out[trial["trial_id"]] = trial["score"]
    return out


def test_sigkill_then_rerun_keeps_every_completed_trial(tmp_path: Path) -> None:
    state = tmp_path / "state"
    args = [
        sys.executable,
        "-m",
        "ktrun.cli",
        "+data.limit=300",
        "fit.epochs=1",
        "tuner.max_trials=6",
        f"tuner.state_dir={state}",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    first = subprocess.Popen(
        [*args, f"hydra.run.dir={tmp_path / 'run1'}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(_scores(state)) < 2:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = _scores(state)
    assert len(before) >= 2, "the search did not get going before the deadline"

    second = subprocess.run(
        [*args, f"hydra.run.dir={tmp_path / 'run2'}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming" in second.stdout
    summary = json.loads((tmp_path / "run2" / "summary.json").read_text())
    assert summary["trials"]["completed"] == 6 and summary["trials"]["failed"] == 0
    after = _scores(state)
    assert {k: after[k] for k in before} == before  # nothing that finished was re-run or lost


def test_tensorboard_is_installed_for_keras_tuner() -> None:
    """Keras Tuner 1.4.8 imports tensorboard at every trial; TF 2.21 no longer installs it."""
    import importlib.util
    import tomllib

    assert importlib.util.find_spec("tensorboard") is not None
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("tensorboard") for d in deps)
    from tensorboard.plugins.hparams import api  # what Keras Tuner imports

    assert api is not None
