"""`tuner.pruner` across a SIGKILL: killed right after the pruned trial's file says it ended
(before oracle.json records the cut) or after oracle.json ends it, the resumed search ends as an
unkilled one does (same statuses, the same cut), trains each trial once, and its oracle knows the
pruned trial is pruned (its later verdicts and an Optuna sampler's history rely on it)."""

from __future__ import annotations

import csv
import io
import json
import signal
from pathlib import Path

import pytest

from tests.integration.test_resume import KILLER
from tests.integration.test_search import write_experiment
from tests.zygote import Zygote

pytestmark = [pytest.mark.slow, pytest.mark.keras]

BODY = """hyperparameters:
  learning_rate: {type: choice, values: [0.01, 1.0e-7, 0.003]}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: 32, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
  compile:
    optimizer: {name: adam, learning_rate: $learning_rate}
    loss: sparse_categorical_crossentropy
    metrics: [accuracy]
fit: {epochs: 3}
tuner:
  algorithm: grid
  max_trials: 3
  pruner: {type: successive_halving, min_epochs: 1, reduction_factor: 2}
"""


@pytest.mark.parametrize("mode", ["completed", "ended"])
def test_a_kill_after_a_trial_is_pruned_keeps_it_pruned_and_trains_nothing_twice(
    tmp_path: Path, zygote: Zygote, mode: str
) -> None:
    write_experiment(tmp_path, "prune", BODY)
    state = tmp_path / "state"
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    args = ["--config-dir", str(tmp_path), "+experiment=prune", "+data.limit=300", f"tuner.state_dir={state}"]
    killed = zygote.run(mode, "1", *args, f"hydra.run.dir={tmp_path / 'killed'}", cwd=tmp_path, script=killer)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    final = zygote.run(*args, f"hydra.run.dir={tmp_path / 'final'}", cwd=tmp_path)
    assert final.returncode == 0, final.stdout[-3000:]
    args[-1] = f"tuner.state_dir={tmp_path / 'unkilled'}"
    unkilled = zygote.run(*args, f"hydra.run.dir={tmp_path / 'reference'}", cwd=tmp_path)
    assert unkilled.returncode == 0, unkilled.stdout[-3000:]

    def statuses(run: str) -> list[tuple[str, str]]:
        rows = csv.DictReader(io.StringIO((tmp_path / run / "trials.csv").read_text()))
        return [(r["status"], r["message"].split(":")[0]) for r in rows]

    assert statuses("final") == statuses("reference"), (statuses("final"), statuses("reference"))
    assert statuses("final")[1] == ("pruned", "pruned at rung 0 (epoch 1)")
    summary = json.loads((tmp_path / "final" / "summary.json").read_text())
    assert summary["trials"]["completed"] + summary["trials"]["pruned"] == 3, summary["trials"]
    (journal,) = state.glob("*/ktrun_journal.jsonl")
    runs = [json.loads(line)["trial_id"] for line in journal.read_text().splitlines()]
    assert sorted(runs) == ["0", "1", "2"], runs  # each trial trained exactly once
    (oracle,) = state.glob("*/oracle.json")
    pruned = {str(i) for i, (status, _) in enumerate(statuses("final")) if status == "pruned"}
    assert set(json.loads(oracle.read_text())["ktrun_pruned"]) == pruned
