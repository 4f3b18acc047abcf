"""Crash safety: a SIGKILL at the worst moments loses nothing and repeats nothing; re-running resumes."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.zygote import Zygote

pytestmark = [pytest.mark.slow, pytest.mark.keras]


def _scores(state: Path) -> dict[str, float]:
    out = {}
    for path in state.glob("*/trial_*/trial.json"):
        trial = json.loads(path.read_text())
        if trial["status"] == "COMPLETED":
            out[trial["trial_id"]] = trial["score"]
    return out


# Runs ktrun and SIGKILLs it right after one chosen state write: the moments between the writes
# that create, complete and end a trial, where a random kill (test_crash_loop) found resume bugs.
KILLER = """
import os, signal, sys
import ktrun.runtime.oracles as oracles

mode, trial = sys.argv[1], sys.argv[2]
real = oracles.write_json_atomic

def write(path, obj):
    new = not os.path.exists(path)
    out = real(path, obj)
    name = os.path.basename(str(path))
    if (
        (mode == "created" and name == "trial.json" and new and obj.get("trial_id") == trial)
        or (mode == "completed" and name == "trial.json" and obj.get("trial_id") == trial
            and obj.get("status") == "COMPLETED")
        or (mode == "ended" and name == "oracle.json" and trial in obj.get("end_order", []))
    ):
        os.kill(os.getpid(), signal.SIGKILL)
    return out

oracles.write_json_atomic = write
from ktrun.cli import main
sys.argv = ["ktrun", *sys.argv[3:]]
main()
"""


def test_kills_between_a_trials_state_writes_lose_and_repeat_nothing(tmp_path: Path, zygote: Zygote) -> None:
    """Killed after trial 0's file says COMPLETED (before oracle.json does, and before Keras
    Tuner ever wrote its tuner file), after trial 1's file is created (before oracle.json knows
    it), after oracle.json ends trial 2 (before the trial leaves `ongoing_trials`): every trial
    trains exactly once and the budget is exact."""
    state = tmp_path / "state"
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    args = ["+data.limit=300", "fit.epochs=1", "tuner.max_trials=4", f"tuner.state_dir={state}"]
    seen: dict[str, float] = {}
    for i, (mode, trial) in enumerate([("completed", "0"), ("created", "1"), ("ended", "2")]):
        run_dir = f"hydra.run.dir={tmp_path / f'run{i}'}"
        killed = zygote.run(mode, trial, *args, run_dir, cwd=tmp_path, script=killer)
        assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
        now = _scores(state)
        assert {k: now[k] for k in seen} == seen, (mode, seen, now)  # nothing completed was lost
        seen = now
    final = zygote.run(*args, f"hydra.run.dir={tmp_path / 'final'}", cwd=tmp_path)
    assert final.returncode == 0, final.stdout[-3000:]
    summary = json.loads((tmp_path / "final" / "summary.json").read_text())
    assert summary["trials"]["completed"] == 4 and summary["trials"]["failed"] == 0
    after = _scores(state)
    assert sorted(after) == ["0", "1", "2", "3"] and {k: after[k] for k in seen} == seen
    # The progress line counts and ranks the whole search, not this run's trials alone.
    [line] = [x for x in final.stdout.splitlines() if x.startswith("trial 3 ")]
    assert f"(4/4): val_accuracy={after['3']:.4g} • best val_accuracy {max(after.values()):.4g} •" in line
    (journal,) = state.glob("*/ktrun_journal.jsonl")
    runs = [json.loads(line)["trial_id"] for line in journal.read_text().splitlines()]
    assert sorted(runs) == ["0", "1", "2", "3"], runs  # each trial trained exactly once


def test_tensorboard_is_installed_for_keras_tuner() -> None:
    """Keras Tuner 1.4.8 imports tensorboard at every trial; TF 2.21 no longer installs it."""
    import importlib.util
    import tomllib

    assert importlib.util.find_spec("tensorboard") is not None
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert all(any(d.startswith("tensorboard") for d in extras[b]) for b in ("cpu", "gpu"))  # each backend
    from tensorboard.plugins.hparams import api  # what Keras Tuner imports

    assert api is not None
