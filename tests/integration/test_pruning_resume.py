"""The smarter search across SIGKILLs: TPE with warm-start points, and `tuner.pruner`.

Killed right after the pruned trial's file says it ended (before oracle.json records the cut) or
after oracle.json ends it, the resumed search ends as an unkilled one does (same statuses, the
same cut), trains each trial once, and its oracle knows the pruned trial is pruned (its later
verdicts and an Optuna sampler's history rely on it)."""

from __future__ import annotations

import csv
import io
import json
import signal
from pathlib import Path

import pytest

from tests.integration.test_pruning_search import BODY
from tests.integration.test_resume import KILLER
from tests.integration.test_search import write_experiment
from tests.zygote import Zygote

pytestmark = [pytest.mark.slow, pytest.mark.keras]

#: test_pruning_search's learning and non-learning trials, with a third that learns, and the pruner.
OVERRIDES = [
    "hyperparameters.learning_rate.values=[0.01,1.0e-7,0.003]",
    "fit.epochs=3",
    "tuner.max_trials=3",
    "tuner.pruner={type: successive_halving, min_epochs: 1, reduction_factor: 2}",
]


@pytest.mark.parametrize("mode", ["completed", "ended"])
def test_a_kill_after_a_trial_is_pruned_keeps_it_pruned_and_trains_nothing_twice(
    tmp_path: Path, zygote: Zygote, mode: str
) -> None:
    write_experiment(tmp_path, "prune", BODY)
    state = tmp_path / "state"
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    args = ["--config-dir", str(tmp_path), "+experiment=prune", "+data.limit=300", *OVERRIDES]
    args.append(f"tuner.state_dir={state}")
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


def test_tpe_with_warm_start_points_killed_twice_trains_each_point_once(
    tmp_path: Path, zygote: Zygote
) -> None:
    """TPE's study is rebuilt from the trial files after each SIGKILL (after the warm-start
    point's file completed it, then after oracle.json ended trial 1): the warm-start point is not
    trained again, no point twice, and the budget is exact."""
    state = tmp_path / "state"
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    point = "{units_1: 64, units_2: 32, activation: tanh, dropout: 0.3, learning_rate: 0.001}"
    args = [
        "+experiment=digits_mlp", "tuner=tpe", "tuner.tpe.n_startup_trials=2", "tuner.max_trials=4",
        "fit.epochs=1", "+data.limit=300", f"tuner.warm_start={{points: [{point}]}}",
        f"tuner.state_dir={state}",
    ]  # fmt: skip
    for i, (mode, trial) in enumerate([("completed", "0"), ("ended", "1")]):
        killed = zygote.run(
            mode, trial, *args, f"hydra.run.dir={tmp_path / f'k{i}'}", cwd=tmp_path, script=killer
        )
        assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    final = zygote.run(*args, f"hydra.run.dir={tmp_path / 'final'}", cwd=tmp_path)
    assert final.returncode == 0, final.stdout[-3000:]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "final" / "trials.csv").read_text())))
    assert [r["status"] for r in rows] == ["completed"] * 4, rows
    assert (rows[0]["units_1"], rows[0]["units_2"], rows[0]["activation"]) == ("64", "32", "tanh")
    keys = {
        tuple(r[k] for k in ("units_1", "units_2", "activation", "dropout", "learning_rate")) for r in rows
    }
    assert len(keys) == 4  # no point trained twice
    (journal,) = state.glob("*/ktrun_journal.jsonl")
    runs = [json.loads(line)["trial_id"] for line in journal.read_text().splitlines()]
    assert sorted(runs) == ["0", "1", "2", "3"], runs
